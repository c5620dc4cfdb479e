// Copy benchmark: the same generated database copied, on the same server and with the same thread
// count, by (a) mysqldump | mysql, (b) raw mydumper + myloader with dbferry's own flags, and
// (c) dbferry itself through its REST API (Temporal dev server + worker + API in this process).
// Every copy is verified (row counts and CHECKSUM TABLE against the source) and dropped.
//
//   npm run bench:copy -- [--rows N | --scale X] [--threads 4] [--repeat 1] [--poll-ms 250]
//                         [--db NAME] [--skip-mysqldump] [--keep-work] [--quiet-wait 120]
//
// Size: --rows N, else $BENCH_ROWS, else 4,000,000 × --scale (default 1): about 515 MB. The source
// database (dbferry_bench_src_<rows>) is generated once and reused. With --repeat N, raw and
// dbferry run N times each, alternating which goes first, and medians are reported.
// Besides the timings it reports where dbferry's extra time goes: the copy workflow's Temporal
// history (activity and workflow-task timestamps), the tools' process lifetimes inside the
// activities (/proc), and the CPU used by each process during each timed window.
// Needs a local server (BENCH_MYSQL_HOST/PORT/USER/PASSWORD, default root@127.0.0.1:3306 with
// no password) with the Sequence engine (MariaDB), mydumper/myloader 0.10, mysqldump, mysql and
// the Temporal CLI. On a shared machine each timed window first waits (up to --quiet-wait seconds)
// until other processes are quiet, and the report flags windows where they were not.
//
// Progress and logs go to stderr; stdout is a table and, as its last line, one JSON object.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type mysql from 'mysql2/promise';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { MYDUMPER_FLAGS, MYLOADER_FLAGS } from '../src/activities/tools/mydumper.ts';
import { countDumpRows } from '../src/activities/tools/dump-files.ts';
import { startApi, type ApiHandle } from '../src/api/server.ts';
import { startWorker, type WorkerHandle } from '../src/worker.ts';
import { startTemporalDevServer, type TemporalDevServer } from '../src/dev/temporal-server.ts';
import { searchAttributeFlags } from '../src/shared/temporal.ts';
import { parseConfig } from '../src/config/load.ts';
import { loadEnv } from '../src/config/env.ts';
import { TokenStore } from '../src/control/tokens.ts';
import { migrateControlSchema } from '../src/control/migrations.ts';
import { copyWorkflowId } from '../src/workflows/copy/contracts.ts';
import { defaultDatabaseName, generateBenchDatabase, rowsFromArgs } from './generate.ts';
import {
  baseTables,
  checksums,
  cpuDelta,
  cpuTotals,
  dropDatabase,
  findChild,
  findServerPid,
  id,
  median,
  note,
  rootConnection,
  round,
  rowCounts,
  runLogged,
  server,
  settle,
  textTable,
  watchForeignLoad,
  watchTools,
  writeDefaultsFile,
  type ToolLifetime,
} from './lib.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string' },
    scale: { type: 'string' },
    threads: { type: 'string', default: '4' },
    repeat: { type: 'string', default: '1' },
    'poll-ms': { type: 'string', default: '250' },
    db: { type: 'string' },
    'skip-mysqldump': { type: 'boolean', default: false },
    'keep-work': { type: 'boolean', default: false },
    'quiet-wait': { type: 'string', default: '120' },
  },
});
const positiveInt = (name: string, s: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench: --${name} must be a positive integer (got ${JSON.stringify(s)})`);
  return n;
};
const ROWS = rowsFromArgs(args);
const THREADS = positiveInt('threads', args.threads);
const REPEAT = positiveInt('repeat', args.repeat);
const POLL_MS = positiveInt('poll-ms', args['poll-ms']);
const SRC = args.db ?? defaultDatabaseName(ROWS);
const QUIET_WAIT_S = Math.max(0, Number(args['quiet-wait']) || 0);
// All names carry the copy_ prefix: other benchmarks (bench/backup.ts) may run at the same time on the
// same server with their own dbferry_bench_* databases, and this one drops only what it owns.
const CONTROL_DB = 'dbferry_bench_copy_control';
const TASK_QUEUE = 'dbferry-bench-copy';
const DST = { mysqldump: 'dbferry_bench_copy_mysqldump', raw: 'dbferry_bench_copy_raw', dbferry: 'dbferry_bench_copy_dbferry' };
const TINY_SRC = 'dbferry_bench_copy_tiny_src';
const TINY_DST = { raw: 'dbferry_bench_copy_tiny_raw', dbferry: 'dbferry_bench_copy_tiny_dbferry' };
const SOURCE_CHARSET = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci';

interface Fingerprint {
  counts: Record<string, number>;
  checksums: Record<string, string>;
}
interface RawResult {
  cpu: Record<string, number>;
  mydumper_s: number;
  myloader_s: number;
  raw_s: number;
  /** What dbferry's dumpDatabase adds after mydumper: counting rows in the dump files. */
  count_dump_rows_s: number;
  /** What dbferry's verifyCopy does after myloader: COUNT(*) per destination table. */
  count_star_s: number;
}
interface ProgressSample {
  t: number;
  status: string;
  phase: string;
  progress: number;
}
interface Span {
  step: string;
  seconds: number;
}
interface DbferryResult {
  copyId: string;
  cpu: Record<string, number>;
  dbferry_s: number;
  samples: ProgressSample[];
  progress_monotonic: boolean;
  progress_max: number;
  phases_seen: Record<string, number>;
  breakdown: Span[];
  signals: number;
  workflow_tasks: number;
  memo_upserts: number;
  history_events: number;
  /** POST → the workflow's completion event: dbferry_s without the poller's granularity. */
  workflow_s: number;
  retries: Array<{ activity: string; attempt: number; lastFailure: string }>;
  /** The tools inside the activities: activity start → exec, tool lifetime, tool exit → activity done. */
  tool_split: Span[];
}

// ---------------------------------------------------------------------------------------------
// Verification

async function fingerprint(
  conn: mysql.Connection,
  db: string,
  tables: string[],
): Promise<Fingerprint & { count_s: number; checksum_s: number }> {
  const t0 = performance.now();
  const counts = await rowCounts(conn, db, tables);
  const t1 = performance.now();
  const sums = await checksums(conn, db, tables);
  const t2 = performance.now();
  return { counts, checksums: sums, count_s: (t1 - t0) / 1000, checksum_s: (t2 - t1) / 1000 };
}

/** Throws unless `db` holds exactly the source's tables, row counts and checksums. */
async function verifyCopy(conn: mysql.Connection, tool: string, db: string, tables: string[], source: Fingerprint): Promise<number> {
  const present = await baseTables(conn, db);
  if (present.join(',') !== tables.join(',')) throw new Error(`${tool}: destination ${db} has tables [${present}], expected [${tables}]`);
  const fp = await fingerprint(conn, db, tables);
  for (const t of tables) {
    if (fp.counts[t] !== source.counts[t]) throw new Error(`${tool}: ${db}.${t} has ${fp.counts[t]} rows, source has ${source.counts[t]}`);
    if (fp.checksums[t] !== source.checksums[t])
      throw new Error(`${tool}: CHECKSUM TABLE ${db}.${t} = ${fp.checksums[t]}, source = ${source.checksums[t]}`);
  }
  note(`  ${tool}: verified ${db} (counts + CHECKSUM TABLE equal to the source; COUNT(*) ${fp.count_s.toFixed(2)} s)`);
  return fp.count_s;
}

// ---------------------------------------------------------------------------------------------
// The three copies

async function runMysqldump(cnf: string, src: string, dst: string, logFile: string): Promise<number> {
  const script =
    'set -o pipefail; mysqldump --defaults-file="$1" --single-transaction --routines --triggers --events "$2" | mysql --defaults-file="$1" "$3"';
  return runLogged('bash', ['-c', script, 'bench-mysqldump', cnf, src, dst], logFile);
}

async function runRaw(
  cnf: string,
  src: string,
  dst: string,
  dir: string,
  logDir: string,
  tables: string[],
  conn: mysql.Connection,
): Promise<RawResult> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Exactly dbferry's invocation (src/activities/tools/mydumper.ts), minus nothing, plus nothing.
  const watcher = watchTools(['mydumper', 'myloader']); // same sampling overhead as in the dbferry run
  const cpu0 = await cpuNow();
  const mydumper_s = await runLogged(
    'mydumper',
    ['--defaults-file', cnf, '--database', src, '--outputdir', dir, '--threads', String(THREADS), ...MYDUMPER_FLAGS],
    join(logDir, 'mydumper.log'),
  );
  const myloader_s = await runLogged(
    'myloader',
    ['--defaults-file', cnf, '--directory', dir, '--database', dst, '--threads', String(THREADS), ...MYLOADER_FLAGS],
    join(logDir, 'myloader.log'),
  );
  const cpu = cpuDelta(cpu0, await cpuNow());
  await watcher.stop();
  // Untimed probes of the extra work dbferry does around the same two tools.
  const c0 = performance.now();
  await countDumpRows(dir, src);
  const count_dump_rows_s = (performance.now() - c0) / 1000;
  const c1 = performance.now();
  await rowCounts(conn, dst, tables);
  const count_star_s = (performance.now() - c1) / 1000;
  await rm(dir, { recursive: true, force: true });
  return { cpu, mydumper_s, myloader_s, raw_s: mydumper_s + myloader_s, count_dump_rows_s, count_star_s };
}

interface Stack {
  temporal: TemporalDevServer;
  worker: WorkerHandle;
  api: ApiHandle;
  token: string;
  workerCrash: () => Error | null;
}

async function startStack(workDir: string, cleanups: Array<() => Promise<void>>): Promise<Stack> {
  const t0 = performance.now();
  const temporal = await startTemporalDevServer({
    headless: true,
    searchAttributes: searchAttributeFlags,
    logFile: join(workDir, 'temporal.log'),
  });
  cleanups.push(() => temporal.stop());
  const t1 = performance.now();
  const local: Record<string, unknown> = { host: server.host, port: server.port, user: server.user, flavor: 'mariadb', allowWrite: true };
  if (server.password) local.passwordEnv = 'BENCH_MYSQL_PASSWORD';
  const config = parseConfig(
    JSON.stringify({
      connections: { local },
      control: { connection: 'local', database: CONTROL_DB },
      workDir: join(workDir, 'dbferry'),
      taskQueue: TASK_QUEUE,
      api: { host: '127.0.0.1', port: 0 },
    }),
    'bench config',
  );
  const env = loadEnv({ ...process.env, TEMPORAL_ADDRESS: temporal.address });
  const worker = await startWorker(config, env);
  cleanups.push(() => worker.stop());
  let crash: Error | null = null;
  worker.done.catch((e: Error) => (crash = e));
  const t2 = performance.now();
  const api = await startApi(config, env, { host: '127.0.0.1', port: 0 });
  cleanups.push(() => api.close());
  await migrateControlSchema(api.deps.controlPool, CONTROL_DB);
  const { token } = await new TokenStore(api.deps.controlPool, CONTROL_DB).create('bench', { name: 'bench', ensureUser: 'admin' });
  const t3 = performance.now();
  note(
    `stack up: temporal ${((t1 - t0) / 1000).toFixed(1)} s, worker (bundle) ${((t2 - t1) / 1000).toFixed(1)} s, api+token ${((t3 - t2) / 1000).toFixed(1)} s; ${temporal.address}, ${api.url}`,
  );
  return { temporal, worker, api, token, workerCrash: () => crash };
}

async function http(
  stack: Stack,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${stack.api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json };
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

// CPU seconds of this process (API, worker, poller), the tools it spawned, the Temporal dev server
// and the database server, sampled around each timed window.
const cpuPids: Record<string, number | null> = { temporal: null, mariadbd: null };
const cpuNow = () => cpuTotals(cpuPids);

/**
 * Waits (up to `maxS`) for a 3 s stretch in which other processes use under 10 % of one core, so a
 * timed window does not start in the middle of someone else's build or test run. Returns seconds waited.
 */
async function waitForQuietMachine(maxS: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const c0 = await cpuNow();
    await sleep(3000);
    const other = cpuDelta(c0, await cpuNow()).other ?? 0;
    const waited = (performance.now() - started) / 1000;
    if (other < 0.3) return round(waited - 3, 1);
    if (waited >= maxS) {
      note(`  machine still busy after ${Math.round(waited)} s (other processes: ${(other / 3).toFixed(2)} cores); starting anyway`);
      return round(waited, 1);
    }
  }
}

async function runDbferry(stack: Stack, src: string, dst: string): Promise<DbferryResult> {
  const watcher = watchTools(['mydumper', 'myloader']);
  const cpu0 = await cpuNow();
  const postEpoch = performance.timeOrigin + performance.now();
  const t0 = performance.now();
  const created = await http(stack, 'POST', '/api/db-copies', {
    source: { connection: 'local', database: src },
    destination: { connection: 'local', database: dst },
    threads: THREADS,
    recreateDestination: false,
  });
  if (created.status !== 201) throw new Error(`dbferry: POST /api/db-copies answered ${created.status}: ${JSON.stringify(created.json)}`);
  const copyId = String(created.json.id);
  const samples: ProgressSample[] = [];
  let last: Record<string, unknown> = created.json;
  let observedEpoch = 0;
  for (;;) {
    await sleep(POLL_MS);
    const crash = stack.workerCrash();
    if (crash) throw new Error(`dbferry: the worker crashed: ${crash.message}`);
    const got = await http(stack, 'GET', `/api/db-copies/${copyId}`);
    if (got.status !== 200) throw new Error(`dbferry: GET /api/db-copies/${copyId} answered ${got.status}: ${JSON.stringify(got.json)}`);
    last = got.json;
    const t = (performance.now() - t0) / 1000;
    samples.push({ t: round(t), status: String(last.status), phase: String(last.phase), progress: Number(last.progress) });
    if (FINAL.has(String(last.status))) {
      observedEpoch = performance.timeOrigin + performance.now();
      break;
    }
  }
  const dbferry_s = (performance.now() - t0) / 1000;
  const cpu = cpuDelta(cpu0, await cpuNow());
  const tools = await watcher.stop();
  if (last.status !== 'succeeded') throw new Error(`dbferry: copy ${copyId} ended ${String(last.status)}: ${String(last.last_error)}`);
  const progress = samples.map((s) => s.progress);
  const progress_monotonic = progress.every((p, i) => Number.isFinite(p) && p >= 0 && p <= 100 && (i === 0 || p >= progress[i - 1]!));
  const phases_seen: Record<string, number> = {};
  for (const s of samples) phases_seen[s.phase] ??= s.t;
  const { activities, ...history } = await historyBreakdown(
    stack,
    copyWorkflowId({ connection: 'local', database: dst }),
    postEpoch,
    observedEpoch,
  );
  const tool_split: Span[] = [];
  for (const [activity, tool] of [
    ['dumpDatabase', 'mydumper'],
    ['loadDump', 'myloader'],
  ] as const) {
    const a = activities.get(activity);
    const t = tools.filter((x) => x.tool === tool);
    if (!a || t.length !== 1) {
      // Tools shorter than the 100 ms sampling period (tiny databases) are simply not seen.
      if (t.length > 1) note(`  could not match ${tool} to ${activity} (${t.length} processes seen)`);
      continue;
    }
    const [life] = t as [ToolLifetime];
    const s = (step: string, from: number, to: number) => tool_split.push({ step, seconds: round((to - from) / 1000) });
    s(`${activity}: activity start → ${tool} exec`, a.started, life.startMs);
    s(`${activity}: ${tool} running (exit sampled every 100 ms)`, life.startMs, life.endMs);
    s(`${activity}: ${tool} exit → activity completed`, life.endMs, a.completed);
  }
  return { copyId, cpu, dbferry_s, samples, progress_monotonic, progress_max: Math.max(...progress), phases_seen, ...history, tool_split };
}

/** Where the workflow's time went, from its Temporal history's event timestamps. */
async function historyBreakdown(stack: Stack, workflowId: string, postEpoch: number, observedEpoch: number) {
  const history = await stack.api.deps.temporal.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const at = (e: (typeof events)[number]): number => tsToMs(e.eventTime);
  const breakdown: Span[] = [];
  const span = (step: string, fromMs: number, toMs: number) => breakdown.push({ step, seconds: round((toMs - fromMs) / 1000) });
  const started = events.find((e) => e.workflowExecutionStartedEventAttributes);
  const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes);
  if (!started || !completed) throw new Error(`dbferry: history of ${workflowId} has no start/completion event`);
  span('POST → workflow started (API: auth, run record, start)', postEpoch, at(started));
  let cursor = at(started);
  let cursorName = 'workflow start';
  const scheduled = new Map<string, { name: string; at: number }>();
  const startedAt = new Map<string, number>();
  const activities = new Map<string, { started: number; completed: number }>();
  const retries: Array<{ activity: string; attempt: number; lastFailure: string }> = [];
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) {
      const name = e.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
      span(`${cursorName} → ${name} scheduled (workflow task)`, cursor, at(e));
      scheduled.set(String(e.eventId), { name, at: at(e) });
    } else if (e.activityTaskStartedEventAttributes) {
      const attrs = e.activityTaskStartedEventAttributes;
      const sid = String(attrs.scheduledEventId);
      const s = scheduled.get(sid);
      if ((attrs.attempt ?? 1) > 1) {
        // Failed attempts are not events of their own: the last one is recorded on the started event.
        retries.push({ activity: s?.name ?? '?', attempt: attrs.attempt ?? 0, lastFailure: attrs.lastFailure?.message ?? '' });
        note(`  history: ${s?.name ?? '?'} needed attempt ${attrs.attempt}; last failure: ${attrs.lastFailure?.message ?? '?'}`);
      }
      if (s) span(`${s.name}: schedule → start (queue)`, s.at, at(e));
      startedAt.set(sid, at(e));
    } else if (e.activityTaskCompletedEventAttributes) {
      const sid = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
      const s = scheduled.get(sid);
      span(`${s?.name ?? '?'}: run`, startedAt.get(sid) ?? s?.at ?? cursor, at(e));
      activities.set(s?.name ?? '?', { started: startedAt.get(sid) ?? s?.at ?? cursor, completed: at(e) });
      cursor = at(e);
      cursorName = `${s?.name ?? '?'} done`;
    } else if (e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) {
      note(`  history: activity attempt failed/timed out at event ${String(e.eventId)}`);
    }
  }
  span(`${cursorName} → workflow completed`, cursor, at(completed));
  span('workflow completed → final status seen by the poller', at(completed), observedEpoch);
  return {
    breakdown,
    signals: events.filter((e) => e.workflowExecutionSignaledEventAttributes).length,
    workflow_tasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    memo_upserts: events.filter((e) => e.workflowPropertiesModifiedEventAttributes).length,
    history_events: events.length,
    workflow_s: (at(completed) - postEpoch) / 1000,
    retries,
    activities,
  };
}

// ---------------------------------------------------------------------------------------------

/** CPU cost of one GET /api/db-copies/{id} (auth + run record + Temporal describe), polled as in a run. */
async function probePolling(stack: Stack, copyId: string, seconds = 5): Promise<Record<string, number>> {
  const idle0 = await cpuNow();
  await sleep(seconds * 1000);
  const idle = cpuDelta(idle0, await cpuNow());
  const cpu0 = await cpuNow();
  let gets = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    await sleep(POLL_MS);
    const got = await http(stack, 'GET', `/api/db-copies/${copyId}`);
    if (got.status !== 200) throw new Error(`polling probe: GET answered ${got.status}`);
    gets++;
  }
  const busy = cpuDelta(cpu0, await cpuNow());
  const perGet = (k: string) => round((((busy[k] ?? 0) - (idle[k] ?? 0)) / gets) * 1000, 2);
  return {
    gets,
    idle_node_cpu_s_per_s: round((idle.node ?? 0) / seconds, 3),
    idle_temporal_cpu_s_per_s: round((idle.temporal ?? 0) / seconds, 3),
    node_cpu_ms_per_get: perGet('node'),
    temporal_cpu_ms_per_get: perGet('temporal'),
    mariadbd_cpu_ms_per_get: perGet('mariadbd'),
  };
}

async function createTinySource(conn: mysql.Connection): Promise<string[]> {
  await dropDatabase(conn, TINY_SRC);
  await conn.query(`CREATE DATABASE ${id(TINY_SRC)} ${SOURCE_CHARSET}`);
  await conn.query(`CREATE TABLE ${id(TINY_SRC)}.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB`);
  await conn.query(`INSERT INTO ${id(TINY_SRC)}.t SELECT seq, CONCAT('v', seq) FROM ${id(TINY_SRC)}.seq_1_to_100`);
  return ['t'];
}

async function main(): Promise<void> {
  // The worker's native core logs to stdout by default; forward it to the SDK logger (stderr) so
  // stdout stays the report with the JSON object as its last line.
  Runtime.install({ logger: new DefaultLogger('INFO'), telemetryOptions: { logging: { forward: {} } } });
  const cleanups: Array<() => Promise<void>> = [];
  const conn = await rootConnection();
  let workDir = '';
  let failed = false;
  const cleanUp = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((e: Error) => note(`cleanup: ${e.message}`));
    cleanups.length = 0;
  };
  process.once('SIGINT', () => {
    note('interrupted: cleaning up');
    void cleanUp().finally(() => process.exit(130));
  });
  try {
    // Destinations and scratch databases are the benchmark's own: drop them whatever happens.
    const scratch = [...Object.values(DST), ...Object.values(TINY_DST), TINY_SRC, CONTROL_DB];
    cleanups.push(() => conn.end());
    cleanups.push(async () => {
      for (const db of scratch) await dropDatabase(conn, db);
    });
    for (const db of scratch) await dropDatabase(conn, db);

    const generated = await generateBenchDatabase(SRC, { rows: ROWS });
    const tables = await baseTables(conn, SRC);
    // Reading every table once (COUNT(*) then CHECKSUM TABLE) is also the cache warm-up.
    const source = await fingerprint(conn, SRC, tables);
    note(
      `source ${SRC}: ${JSON.stringify(source.counts)}, ${(generated.bytes / 1e6).toFixed(1)} MB; COUNT(*) ${source.count_s.toFixed(2)} s, CHECKSUM ${source.checksum_s.toFixed(2)} s`,
    );

    workDir = await mkdtemp(join(tmpdir(), 'dbferry-bench-copy-'));
    cleanups.unshift(async () => {
      if (args['keep-work'] || failed) note(`work directory kept: ${workDir}`);
      else await rm(workDir, { recursive: true, force: true });
    });
    const cnf = await writeDefaultsFile(workDir);
    const stack = await startStack(workDir, cleanups);
    cpuPids.temporal = await findChild('temporal');
    cpuPids.mariadbd = await findServerPid();

    // Untimed warm-up of both paths on a 100-row database: JIT, first workflow task, pools. Also
    // the fixed cost of a copy, independent of size.
    const tinyTables = await createTinySource(conn);
    const tinyFp = await fingerprint(conn, TINY_SRC, tinyTables);
    const tinyRaw = await runRaw(cnf, TINY_SRC, TINY_DST.raw, join(workDir, 'tiny-dump'), workDir, tinyTables, conn);
    await verifyCopy(conn, 'tiny raw', TINY_DST.raw, tinyTables, tinyFp);
    const tinyDbferry = await runDbferry(stack, TINY_SRC, TINY_DST.dbferry);
    await verifyCopy(conn, 'tiny dbferry', TINY_DST.dbferry, tinyTables, tinyFp);
    note(`tiny copy (fixed cost): raw ${tinyRaw.raw_s.toFixed(2)} s, dbferry ${tinyDbferry.dbferry_s.toFixed(2)} s`);
    const pollCost = await probePolling(stack, tinyDbferry.copyId);
    note(`polling cost: ${JSON.stringify(pollCost)}`);

    const foreign: Record<string, { max: number; mean: number; other_cpu_s: number }> = {};
    const settled: number[] = [];
    const quietWaits: number[] = [];
    // Each timed window: fresh destination, InnoDB settled, other clients' activity sampled.
    const measured = async <T>(label: string, dst: string, fn: () => Promise<T>): Promise<T> => {
      await dropDatabase(conn, dst);
      settled.push(round(await settle(conn, 60), 1));
      const quietWait = await waitForQuietMachine(QUIET_WAIT_S);
      if (quietWait > 0) note(`  waited ${quietWait} s for other processes to go quiet`);
      quietWaits.push(quietWait);
      note(`${label} …`);
      const watch = watchForeignLoad(conn, SRC);
      const cpu0 = await cpuNow();
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        const seconds = (performance.now() - t0) / 1000;
        const other = cpuDelta(cpu0, await cpuNow()).other ?? 0;
        const load = await watch.stop();
        foreign[label] = { ...load, other_cpu_s: other };
        if (load.max > 0)
          note(`  warning: other clients were running statements during ${label} (max ${load.max}, mean ${load.mean}): expect noise`);
        // 2 cores: more than 5 % of the machine used by unrelated processes skews the timing.
        if (other > seconds * 2 * 0.05)
          note(`  warning: other processes used ${other.toFixed(1)} CPU-s during ${label} (${seconds.toFixed(1)} s): expect noise`);
      }
    };

    let mysqldump_s: number | null = null;
    let mysqldumpCpu: Record<string, number> | null = null;
    if (!args['skip-mysqldump']) {
      mysqldump_s = await measured('mysqldump | mysql', DST.mysqldump, async () => {
        await conn.query(`CREATE DATABASE ${id(DST.mysqldump)} ${SOURCE_CHARSET}`);
        const cpu0 = await cpuNow();
        const seconds = await runMysqldump(cnf, SRC, DST.mysqldump, join(workDir, 'mysqldump.log'));
        mysqldumpCpu = cpuDelta(cpu0, await cpuNow());
        return seconds;
      });
      note(`  mysqldump | mysql: ${mysqldump_s.toFixed(2)} s`);
      await verifyCopy(conn, 'mysqldump', DST.mysqldump, tables, source);
      await dropDatabase(conn, DST.mysqldump);
    }

    const raws: RawResult[] = [];
    const ferries: DbferryResult[] = [];
    for (let i = 0; i < REPEAT; i++) {
      // Alternate the order so neither tool always runs second.
      const order = i % 2 === 0 ? (['raw', 'dbferry'] as const) : (['dbferry', 'raw'] as const);
      for (const tool of order) {
        if (tool === 'raw') {
          const r = await measured(`raw ${i + 1}/${REPEAT}`, DST.raw, () =>
            runRaw(cnf, SRC, DST.raw, join(workDir, 'raw-dump'), workDir, tables, conn),
          );
          note(`  raw: mydumper ${r.mydumper_s.toFixed(2)} s + myloader ${r.myloader_s.toFixed(2)} s = ${r.raw_s.toFixed(2)} s`);
          await verifyCopy(conn, 'raw', DST.raw, tables, source);
          await dropDatabase(conn, DST.raw);
          raws.push(r);
        } else {
          const d = await measured(`dbferry ${i + 1}/${REPEAT}`, DST.dbferry, () => runDbferry(stack, SRC, DST.dbferry));
          note(`  dbferry: ${d.dbferry_s.toFixed(2)} s; phases first seen at ${JSON.stringify(d.phases_seen)}`);
          await verifyCopy(conn, 'dbferry', DST.dbferry, tables, source);
          await dropDatabase(conn, DST.dbferry);
          ferries.push(d);
        }
      }
    }

    // -------------------------------------------------------------------------------------------
    // Report
    const mydumper_s = median(raws.map((r) => r.mydumper_s));
    const myloader_s = median(raws.map((r) => r.myloader_s));
    const raw_s = median(raws.map((r) => r.raw_s));
    const dbferry_s = median(ferries.map((d) => d.dbferry_s));
    const bytes = generated.bytes;
    const line = (tool: string, s: number) => [
      tool,
      s.toFixed(2),
      (bytes / 1e6 / s).toFixed(1),
      Math.round(ROWS / s).toLocaleString('en-US'),
    ];
    const rowsOut = [
      ...(mysqldump_s === null ? [] : [line('mysqldump | mysql', mysqldump_s)]),
      line('mydumper (dump only)', mydumper_s),
      line('myloader (load only)', myloader_s),
      line('raw mydumper + myloader', raw_s),
      line('dbferry (REST, end to end)', dbferry_s),
    ];
    console.log(
      `\ndbferry copy benchmark: ${SRC}, ${ROWS.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(1)} MB (DATA+INDEX), ${THREADS} threads, repeat ${REPEAT}${REPEAT > 1 ? ' (medians)' : ''}\n`,
    );
    console.log(textTable(['tool', 'seconds', 'MB/s', 'rows/s'], rowsOut));

    // The breakdown of the dbferry run closest to the median.
    const medianRun = [...ferries].sort((a, b) => Math.abs(a.dbferry_s - dbferry_s) - Math.abs(b.dbferry_s - dbferry_s))[0]!;
    console.log(
      `\ndbferry timeline (Temporal history of the ${ferries.length > 1 ? 'median ' : ''}run; ${medianRun.signals} progress signals, ${medianRun.workflow_tasks} workflow tasks, ${medianRun.memo_upserts} memo upserts):\n`,
    );
    console.log(
      textTable(
        ['step', 'seconds'],
        medianRun.breakdown.map((b) => [b.step, b.seconds.toFixed(3)]),
      ),
    );
    const medianRaw = [...raws].sort((a, b) => Math.abs(a.raw_s - raw_s) - Math.abs(b.raw_s - raw_s))[0]!;
    console.log(
      `\nextra work dbferry does around the tools, measured on the raw run: count rows in dump files ${medianRaw.count_dump_rows_s.toFixed(3)} s, COUNT(*) per table ${medianRaw.count_star_s.toFixed(3)} s`,
    );
    console.log(`fixed cost on a 100-row database: raw ${tinyRaw.raw_s.toFixed(3)} s, dbferry ${tinyDbferry.dbferry_s.toFixed(3)} s`);
    if (medianRun.tool_split.length) {
      console.log('\ndbferry activities vs the tools inside them (process lifetimes from /proc):\n');
      console.log(
        textTable(
          ['step', 'seconds'],
          medianRun.tool_split.map((b) => [b.step, b.seconds.toFixed(3)]),
        ),
      );
    }
    const cpuRows: Array<[string, Record<string, number>, number]> = [
      ...(mysqldumpCpu && mysqldump_s !== null
        ? [['mysqldump | mysql', mysqldumpCpu, mysqldump_s] as [string, Record<string, number>, number]]
        : []),
      ['raw mydumper + myloader', medianRaw.cpu, medianRaw.raw_s],
      ['dbferry', medianRun.cpu, medianRun.dbferry_s],
    ];
    console.log('\nCPU seconds during each timed window (2 cores = 2 CPU-s per wall second):\n');
    console.log(
      textTable(
        ['run', 'wall s', 'node (api+worker+poller)', 'tools', 'temporal', 'mariadbd', 'other processes'],
        cpuRows.map(([label, c, wall]) => [
          label,
          wall.toFixed(2),
          ...['node', 'tools', 'temporal', 'mariadbd', 'other'].map((k) => (c[k] ?? 0).toFixed(2)),
        ]),
      ),
    );
    const noisy = Object.entries(foreign).filter(([, f]) => f.max > 0 || f.other_cpu_s > 1);
    console.log(
      noisy.length
        ? `\nNOISE: other work on the machine during ${noisy.map(([k, f]) => `${k} (${f.other_cpu_s.toFixed(1)} CPU-s, ${f.max} foreign statements)`).join(', ')}; compare those runs with care\n`
        : '\nno other significant CPU or database activity on the machine during the timed windows\n',
    );

    const progress_monotonic = ferries.every((d) => d.progress_monotonic);
    const result = {
      database: SRC,
      rows: ROWS,
      bytes,
      tables: source.counts,
      threads: THREADS,
      repeat: REPEAT,
      poll_ms: POLL_MS,
      mysqldump_s: mysqldump_s === null ? null : round(mysqldump_s),
      mydumper_s: round(mydumper_s),
      myloader_s: round(myloader_s),
      raw_s: round(raw_s),
      dbferry_s: round(dbferry_s),
      dbferry_workflow_s: round(median(ferries.map((d) => d.workflow_s))),
      ratio: round(dbferry_s / raw_s, 3),
      vs_mysqldump: mysqldump_s === null ? null : round(dbferry_s / mysqldump_s, 3),
      progress_monotonic,
      progress_max: Math.max(...ferries.map((d) => d.progress_max)),
      progress_values: ferries.map((d) => [...new Set(d.samples.map((s) => s.progress))]),
      runs: {
        raw: raws.map((r) => ({ mydumper_s: round(r.mydumper_s), myloader_s: round(r.myloader_s), raw_s: round(r.raw_s) })),
        dbferry_s: ferries.map((d) => round(d.dbferry_s)),
        dbferry_workflow_s: ferries.map((d) => round(d.workflow_s)),
        dbferry_tool_split: ferries.map((d) => Object.fromEntries(d.tool_split.map((t) => [t.step, t.seconds]))),
        dbferry_cpu_s: ferries.map((d) => d.cpu),
        raw_cpu_s: raws.map((r) => r.cpu),
      },
      dbferry_breakdown: medianRun.breakdown,
      dbferry_tool_split: medianRun.tool_split,
      dbferry_retries: ferries.flatMap((d) => d.retries),
      cpu_s: { mysqldump: mysqldumpCpu, raw: medianRaw.cpu, dbferry: medianRun.cpu },
      dbferry_phases_seen: medianRun.phases_seen,
      dbferry_signals: medianRun.signals,
      dbferry_workflow_tasks: medianRun.workflow_tasks,
      dbferry_memo_upserts: medianRun.memo_upserts,
      dbferry_history_events: medianRun.history_events,
      count_dump_rows_s: round(medianRaw.count_dump_rows_s),
      count_star_s: round(medianRaw.count_star_s),
      tiny_raw_s: round(tinyRaw.raw_s),
      tiny_dbferry_s: round(tinyDbferry.dbferry_s),
      tiny_dbferry_breakdown: tinyDbferry.breakdown,
      polling_cost: pollCost,
      generated_reused: generated.reused,
      generate_s: round(generated.seconds, 1),
      settle_s: settled,
      quiet_wait_s: quietWaits,
      foreign_sessions: foreign,
      verified: true,
    };
    if (!progress_monotonic) {
      failed = true;
      console.log(JSON.stringify(result));
      throw new Error(`dbferry: progress went backwards or out of 0..100: ${JSON.stringify(result.progress_values)}`);
    }
    console.log(JSON.stringify(result));
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`\nbench:copy FAILED: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);

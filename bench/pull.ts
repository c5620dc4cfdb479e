// Sanitized-pull benchmark. On the generated database (customers -> orders -> order_items) with
// rules on customers (email, name, phone) and a row limit on the largest table (order_items),
// it times, in one run:
//   (a) dbferry's pull through its tRPC API (Temporal dev server + worker + API in this process),
//       split into its steps from the workflow history;
//   (b) a plain copy of the same rows: raw mydumper + myloader of the pulled database, same threads;
//   (c) the bare UPDATE statements the sanitize step runs, typed straight into a session on a copy
//       of the same rows, against the sanitize activity's own duration.
//
//   npm run bench:pull -- [--rows N] [--threads 4] [--limit-fraction 0.5] [--repeat 3] [--keep-work]
//
// Progress goes to stderr; stdout is a table and, as its last line, one JSON object with every
// figure, including `ratio` (pull ÷ plain copy) and `sanitize_ratio` (sanitize step ÷ bare UPDATEs).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startApi } from '../src/api/server.ts';
import { startWorker } from '../src/worker.ts';
import { startTemporalDevServer } from '../src/dev/temporal-server.ts';
import { searchAttributeFlags } from '../src/shared/temporal.ts';
import { parseConfig } from '../src/config/load.ts';
import { loadEnv } from '../src/config/env.ts';
import { TokenStore } from '../src/control/tokens.ts';
import { createDbferryClient } from '../src/client.ts';
import { sanitizedSelectList, sanitizeStatement, RUN_KEY_VAR } from '../src/activities/pull/sanitize-sql.ts';
import { sanitizeRuleSchema } from '../src/config/pull-profiles.ts';
import { generateBenchDatabase } from './generate.ts';
import {
  dropDatabase,
  id,
  median,
  note,
  query,
  rootConnection,
  round,
  rowCounts,
  runLogged,
  server,
  settle,
  textTable,
  writeDefaultsFile,
} from './lib.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    threads: { type: 'string', default: '4' },
    'limit-fraction': { type: 'string', default: '0.5' },
    repeat: { type: 'string', default: '3' },
    'keep-work': { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const THREADS = Number(args.threads);
const FRACTION = Number(args['limit-fraction']);
const REPEAT = Math.max(1, Math.floor(Number(args.repeat)) || 1);
if (!Number.isInteger(ROWS) || ROWS < 3 || !Number.isInteger(THREADS) || THREADS < 1 || !(FRACTION > 0 && FRACTION <= 1)) {
  throw new Error('bench: --rows (>= 3), --threads (>= 1) must be integers and --limit-fraction in (0, 1]');
}
const SRC = `dbferry_bench_pull_src_${ROWS}`;
const DST = 'dbferry_bench_pull_dst';
const PLAIN = 'dbferry_bench_pull_plain';
const BARE = 'dbferry_bench_pull_bare';
const CONTROL_DB = 'dbferry_bench_pull_control';
const TASK_QUEUE = 'dbferry-bench-pull';
const RULES = { email: { type: 'email' }, name: { type: 'name' }, phone: { type: 'phone' } } as const;
const STEPS = [
  'preparePull',
  'createTempDatabase',
  'copyTablesIntoWorkspace',
  'applySanitizationRules',
  'checkSanitizationGate',
  'dumpPullWorkspace',
  'loadPullIntoDestination',
  'recordPullWatermarks',
  'dropTempDatabase',
];

type Conn = Awaited<ReturnType<typeof rootConnection>>;

/** The generated database plus a phone column on customers (the users table of the issue). */
async function prepareSource(conn: Conn): Promise<Record<string, number>> {
  const generated = await generateBenchDatabase(SRC, { rows: ROWS });
  const [has] = await query(
    conn,
    "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'customers' AND COLUMN_NAME = 'phone'",
    [SRC],
  );
  if (Number(has?.n) === 0) {
    note('adding customers.phone');
    await conn.query(`ALTER TABLE ${id(SRC)}.customers ADD COLUMN phone VARCHAR(32) NULL`);
    await conn.query(`UPDATE ${id(SRC)}.customers SET phone = CONCAT('+49 30 ', LPAD(id, 8, '0'))`);
  }
  note(`source ${SRC}: ${generated.rows} rows, ${(generated.bytes / 1e6).toFixed(1)} MB${generated.reused ? ' (reused)' : ''}`);
  return rowCounts(conn, SRC, ['customers', 'orders', 'order_items']);
}

/** Seconds per activity type, from the workflow's own history (scheduled → completed). */
async function stepSeconds(api: Awaited<ReturnType<typeof startApi>>, pullId: string): Promise<Record<string, number>> {
  const run = await api.deps.runs.get(pullId);
  if (!run?.runId) throw new Error(`bench: no run recorded for pull ${pullId}`);
  const history = await api.deps.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
  const scheduled = new Map<string, { type: string; at: number }>();
  const seconds: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    if (e.activityTaskScheduledEventAttributes)
      scheduled.set(String(e.eventId), { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const s = scheduled.get(String(done.scheduledEventId));
      if (s) seconds[s.type] = round((seconds[s.type] ?? 0) + (at - s.at) / 1000);
    }
  }
  return seconds;
}

/**
 * What sanitizing costs inside the copy (the fused path, where applySanitizationRules has nothing
 * left to do): INSERT … SELECT of customers with the fake-value expressions, minus the same copy
 * with the bare columns, both into the workspace's engine. Best of 3 each.
 */
async function fusedOverhead(
  conn: Conn,
  columns: Array<{ column: string; rule: ReturnType<typeof sanitizeRuleSchema.parse>; maxLength: number | null }>,
): Promise<number> {
  const cols = await query(
    conn,
    "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'customers' ORDER BY ORDINAL_POSITION",
    [SRC],
  );
  const names = cols.map((c) => String(c.c));
  const select = sanitizedSelectList(names, columns, 's');
  const time = async (sql: string, params: unknown[]): Promise<number> => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      await conn.query(`TRUNCATE TABLE ${id(BARE)}.fused`);
      const t0 = performance.now();
      await conn.query(sql, params);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return best;
  };
  await conn.query(`CREATE TABLE ${id(BARE)}.fused LIKE ${id(SRC)}.customers`);
  await conn.query(`ALTER TABLE ${id(BARE)}.fused ENGINE=MyISAM`);
  const into = `INSERT INTO ${id(BARE)}.fused (${names.map(id).join(', ')})`;
  const plain = await time(`${into} SELECT ${names.map((n) => `s.${id(n)}`).join(', ')} FROM ${id(SRC)}.customers s`, []);
  const fused = await time(`${into} SELECT ${select.sql} FROM ${id(SRC)}.customers s`, select.params);
  return round(Math.max(0, fused - plain));
}

/** The bare UPDATE the sanitize step runs, on a copy of the same customers, in one session; and the fused path's cost. */
async function bareUpdate(conn: Conn): Promise<{ bareS: number; fusedS: number }> {
  await dropDatabase(conn, BARE);
  await conn.query(`CREATE DATABASE ${id(BARE)}`);
  await conn.query(`CREATE TABLE ${id(BARE)}.customers LIKE ${id(SRC)}.customers`);
  await conn.query(`INSERT INTO ${id(BARE)}.customers SELECT * FROM ${id(SRC)}.customers`);
  const cols = await query(
    conn,
    "SELECT COLUMN_NAME AS c, CHARACTER_MAXIMUM_LENGTH AS l FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'customers'",
    [BARE],
  );
  const columns = Object.entries(RULES).map(([column, rule]) => ({
    column,
    rule: sanitizeRuleSchema.parse(rule),
    maxLength: Number(cols.find((c) => c.c === column)?.l ?? 0) || null,
  }));
  const statement = sanitizeStatement(BARE, 'customers', columns);
  await settle(conn, 60);
  await conn.query(`SET ${RUN_KEY_VAR} = ?`, [randomBytes(32).toString('hex')]);
  const t0 = performance.now();
  await conn.query(statement.sql, statement.params);
  const bareS = round((performance.now() - t0) / 1000);
  return { bareS, fusedS: await fusedOverhead(conn, columns) };
}

/** Raw mydumper + myloader of the pulled database: a plain copy of exactly the rows the pull brought. */
async function plainCopy(conn: Conn, cnf: string, workDir: string): Promise<number> {
  await dropDatabase(conn, PLAIN);
  const dir = join(workDir, 'plain-dump');
  await rm(dir, { recursive: true, force: true });
  await settle(conn, 60);
  const log = join(workDir, 'plain.log');
  const t0 = performance.now();
  await runLogged(
    'mydumper',
    ['--defaults-file', cnf, '--database', DST, '--outputdir', dir, '--threads', String(THREADS), '--rows', '200000'],
    log,
  );
  await conn.query(`CREATE DATABASE ${id(PLAIN)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await runLogged('myloader', ['--defaults-file', cnf, '--directory', dir, '--database', PLAIN, '--threads', String(THREADS)], log);
  return round((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { forward: {} } } });
  const conn = await rootConnection();
  const workDir = await mkdtemp(join(tmpdir(), 'dbferry-bench-pull-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    for (const db of [DST, PLAIN, BARE, CONTROL_DB]) await dropDatabase(conn, db);
    const counts = await prepareSource(conn);
    const maxRows = Math.max(1, Math.floor((counts.order_items ?? 0) * FRACTION));
    const cnf = await writeDefaultsFile(workDir);

    const temporal = await startTemporalDevServer({
      headless: true,
      searchAttributes: searchAttributeFlags,
      logFile: join(workDir, 'temporal.log'),
    });
    cleanups.push(() => temporal.stop());
    const local: Record<string, unknown> = { host: server.host, port: server.port, user: server.user, flavor: 'mariadb', allowWrite: true };
    if (server.password) local.passwordEnv = 'BENCH_MYSQL_PASSWORD';
    const config = parseConfig(
      JSON.stringify({
        connections: { local },
        control: { connection: 'local', database: CONTROL_DB },
        workDir: join(workDir, 'dbferry'),
        taskQueue: TASK_QUEUE,
        api: { host: '127.0.0.1', port: 0 },
        pulls: {
          bench: {
            source: { connection: 'local', database: SRC },
            destination: { connection: 'local', database: DST },
            threads: THREADS,
            sanitize: { customers: RULES },
            limits: { order_items: { maxRows, orderBy: 'id', direction: 'desc' } },
            piiAllow: ['orders.shipping_address'],
          },
        },
      }),
      'bench config',
    );
    const env = loadEnv({ ...process.env, TEMPORAL_ADDRESS: temporal.address });
    const worker = await startWorker(config, env);
    cleanups.push(() => worker.stop());
    const api = await startApi(config, env, { host: '127.0.0.1', port: 0 });
    cleanups.push(() => api.close());
    const { token } = await new TokenStore(api.deps.controlPool, CONTROL_DB).create('bench', { name: 'bench', ensureUser: 'admin' });
    const client = createDbferryClient({ url: api.url, token });

    const dry = await client.pulls.dryRun.query({ profile: 'bench', full: true });
    note(`dry run: ${JSON.stringify(dry)}`);
    // With --repeat N every figure is the median of N rounds (pull, plain copy, bare UPDATE), so a
    // burst of other work on a shared machine moves one round, not the result.
    const rounds: Array<{ pullS: number; seconds: Record<string, number>; plainS: number; bareS: number; fusedS: number; pullId: string }> =
      [];
    for (let r = 0; r < REPEAT; r++) {
      // The plain copy loads into a database dropped beforehand, untimed: so does the pull (else its
      // load would pay for dropping the previous round's tables).
      await dropDatabase(conn, DST);
      await settle(conn, 60);
      const t0 = performance.now();
      const { id: pullId } = await client.pulls.start.mutate({ profile: 'bench', full: true });
      for (;;) {
        const v = await client.pulls.get.query({ id: pullId });
        if (['succeeded', 'failed', 'cancelled'].includes(v.status)) {
          if (v.status !== 'succeeded') throw new Error(`bench: the pull ended ${v.status}: ${v.lastError}`);
          break;
        }
        await sleep(250);
      }
      const pullS = round((performance.now() - t0) / 1000);
      const seconds = await stepSeconds(api, pullId);
      note(`round ${r + 1}: pull ${pullS} s; steps ${JSON.stringify(seconds)}`);
      const plainS = await plainCopy(conn, cnf, workDir);
      const { bareS, fusedS } = await bareUpdate(conn);
      note(
        `round ${r + 1}: plain copy of the same rows ${plainS} s; bare UPDATE ${bareS} s (sanitize step ${seconds.applySanitizationRules} s, in the copy ${fusedS} s)`,
      );
      rounds.push({ pullS, seconds, plainS, bareS, fusedS, pullId });
    }
    const byPull = [...rounds].sort((a, b) => a.pullS - b.pullS)[Math.floor(rounds.length / 2)]!;
    const pullS = median(rounds.map((r) => r.pullS));
    const plainS = median(rounds.map((r) => r.plainS));
    const bareS = median(rounds.map((r) => r.bareS));
    // Sanitizing happens in two places: the UPDATE step (rules on key columns) and inside the copy
    // (all others). Its cost is both together, against the bare UPDATE statements.
    const sanitizeS = median(rounds.map((r) => (r.seconds.applySanitizationRules ?? NaN) + r.fusedS));
    const fusedS = median(rounds.map((r) => r.fusedS));
    // Each round's pull and plain copy run back to back, so the server's slow spells (its page
    // cleaner on a small buffer pool) move both: the median of the per-round ratios is steadier
    // than the ratio of the medians, which is printed beside it.
    const ratio = round(median(rounds.map((r) => r.pullS / r.plainS)));
    const seconds = byPull.seconds;
    const view = await client.pulls.get.query({ id: byPull.pullId });
    const pulled = Object.fromEntries(view.tables.map((t) => [t.table, t.rows]));
    const rows: Array<Array<string | number>> = [
      ['dbferry pull (API → succeeded)', pullS, ''],
      ...STEPS.filter((s) => seconds[s] !== undefined).map((s) => [`  ${s}`, seconds[s]!, ''] as Array<string | number>),
      ['plain copy of the same rows (mydumper + myloader)', plainS, ''],
      ['sanitizing: UPDATE step + cost inside the copy', sanitizeS, `of which in the copy ${fusedS} s`],
      ['bare UPDATE statements, direct', bareS, ''],
      ['ratio: pull ÷ plain copy (median of rounds)', ratio, `target ≤ 1.5; of the medians ${round(pullS / plainS)}`],
      ['sanitize_ratio: sanitize ÷ bare UPDATEs', round(sanitizeS / bareS), 'target ≤ 1.1'],
    ];
    process.stdout.write(`${textTable(['what', 'seconds', 'note'], rows)}\n`);
    process.stdout.write(
      `${JSON.stringify({
        source: SRC,
        source_rows: counts,
        pulled_rows: pulled,
        order_items_limit: maxRows,
        threads: THREADS,
        repeat: REPEAT,
        pull_s: pullS,
        plain_copy_s: plainS,
        ratio,
        ratio_of_medians: round(pullS / plainS),
        sanitize_s: sanitizeS,
        sanitize_in_copy_s: fusedS,
        bare_update_s: bareS,
        sanitize_ratio: round(sanitizeS / bareS),
        steps_s: seconds,
        rounds: rounds.map((r) => ({
          pull_s: r.pullS,
          plain_copy_s: r.plainS,
          ratio: round(r.pullS / r.plainS),
          sanitize_step_s: r.seconds.applySanitizationRules,
          sanitize_in_copy_s: r.fusedS,
          bare_update_s: r.bareS,
        })),
      })}\n`,
    );
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch((e: Error) => note(`cleanup: ${e.message}`));
    for (const db of [DST, PLAIN, BARE, CONTROL_DB]) await dropDatabase(conn, db).catch(() => undefined);
    await conn.end();
    if (!args['keep-work']) await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  note(`bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});

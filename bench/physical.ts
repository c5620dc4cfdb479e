// `npm run bench:physical`: raw mariabackup against dbferry's physical backup and chain restore,
// on the generated database (the server holds it; a physical backup is of the whole server).
//
//   raw:     mariabackup --backup --stream=xbstream | zstd > full; (change); same with --incremental-lsn > inc;
//            zstd -d | mbstream -x (both); --prepare; --prepare --incremental-dir; --copy-back into a folder
//   dbferry: physicalBackup full and incremental → file target; restoreChain → folder
//
// Last line: one JSON object with every figure, including `ratio` (dbferry seconds ÷ raw seconds,
// backup and restore together).
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowIdConflictPolicy, type WorkflowHandle } from '@temporalio/client';
import type { RowDataPacket } from 'mysql2/promise';
import { startTemporalDevServer } from '../src/dev/temporal-server.ts';
import { spawnWorkerProcess } from '../src/dev/worker-process.ts';
import { parseCheckpoints } from '../src/activities/physical/checkpoints.ts';
import {
  physicalBackupWorkflowId,
  restoreChainWorkflowId,
  type PhysicalBackupState,
  type PhysicalBackupWorkflowInput,
  type RestoreChainState,
  type RestoreChainWorkflowInput,
} from '../src/workflows/physical/contracts.ts';
import { searchAttributeFlags } from '../src/shared/temporal.ts';
import { defaultDatabaseName, generateBenchDatabase } from './generate.ts';
import { foreignBusySessions, id, note, rootConnection, round, runLogged, server, settle, writeDefaultsFile } from './lib.ts';

const { values: args } = parseArgs({ options: { rows: { type: 'string' }, threads: { type: 'string', default: '2' } }, strict: true });
const ROWS = Number(args.rows ?? process.env.BENCH_ROWS ?? 1_000_000);
const THREADS = Number(args.threads);
const TASK_QUEUE = `dbferry-bench-physical-${randomUUID().slice(0, 8)}`;

/** The same small change before each incremental, so both incrementals carry comparable work. */
async function changeSomething(database: string, round_: number): Promise<void> {
  const conn = await rootConnection(database);
  try {
    const [tables] = await conn.query<RowDataPacket[]>(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME LIMIT 1",
      [database],
    );
    const table = String(tables[0]!.t);
    await conn.query(`CREATE TABLE IF NOT EXISTS ${id(`bench_phys_${round_}`)} AS SELECT * FROM ${id(table)} LIMIT 50000`);
  } finally {
    await conn.end();
  }
}

/** Seconds per activity (summed per type), and the run's whole span, from its history. */
async function activitySpans(handle: WorkflowHandle): Promise<Record<string, number>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const ms = (t: unknown): number => {
    const ts = t as { seconds?: { toNumber(): number } | number; nanos?: number } | null | undefined;
    const seconds = typeof ts?.seconds === 'number' ? ts.seconds : (ts?.seconds?.toNumber() ?? 0);
    return seconds * 1000 + (ts?.nanos ?? 0) / 1e6;
  };
  const spans: Record<string, number> = {};
  const scheduled = new Map<string, string>();
  const started = new Map<string, number>();
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes)
      scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    if (e.activityTaskStartedEventAttributes) {
      const sid = String(e.activityTaskStartedEventAttributes.scheduledEventId);
      started.set(sid, ms(e.eventTime));
      const attempt = e.activityTaskStartedEventAttributes.attempt ?? 1;
      if (attempt > 1) spans[`${scheduled.get(sid)}_attempts`] = attempt;
    }
    if (e.activityTaskCompletedEventAttributes) {
      const sid = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
      const name = scheduled.get(sid)!;
      spans[name] = round((spans[name] ?? 0) + (ms(e.eventTime) - started.get(sid)!) / 1000);
    }
  }
  if (events.length > 1) spans.workflow = round((ms(events.at(-1)!.eventTime) - ms(events[0]!.eventTime)) / 1000);
  return spans;
}

const busyWindows: string[] = [];

/** Waits (up to a minute) for flushed pages and no other clients' statements, so each timed run starts on a quiet server. */
async function quiet(what: string): Promise<void> {
  const conn = await rootConnection();
  try {
    await settle(conn, 60);
    for (const deadline = Date.now() + 60_000; ;) {
      if ((await foreignBusySessions(conn)) === 0) return;
      if (Date.now() > deadline) {
        busyWindows.push(what);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await conn.end();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'dbferry-bench-physical-'));
  const cleanups: Array<() => Promise<unknown>> = [() => rm(work, { recursive: true, force: true })];
  const database = defaultDatabaseName(ROWS);
  try {
    const source = await generateBenchDatabase(database, { rows: ROWS });
    const cnf = await writeDefaultsFile(work);
    const log = join(work, 'raw.log');
    const sh = (script: string, ...params: string[]) => runLogged('bash', ['-c', `set -o pipefail; ${script}`, 'bench', ...params], log);

    // --- raw mariabackup
    await quiet('raw: mariabackup full | zstd > file');
    note('raw: mariabackup full | zstd > file');
    const rawDir = join(work, 'raw');
    await mkdir(join(rawDir, 'lsn-full'), { recursive: true });
    await mkdir(join(rawDir, 'lsn-inc'), { recursive: true });
    const rawFull = await sh(
      `mariabackup --defaults-file="$1" --backup --stream=xbstream --target-dir="$2/tmp" --extra-lsndir="$2/lsn-full" --parallel=${THREADS} | zstd -q -T0 -3 > "$2/full.xb.zst"`,
      cnf,
      rawDir,
    );
    const fullLsn = parseCheckpoints(await readFile(join(rawDir, 'lsn-full', 'xtrabackup_checkpoints'), 'utf8')).toLsn;
    await changeSomething(database, 1);
    await quiet('raw: mariabackup incremental | zstd > file');
    note('raw: mariabackup incremental | zstd > file');
    const rawInc = await sh(
      `mariabackup --defaults-file="$1" --backup --stream=xbstream --target-dir="$2/tmp" --extra-lsndir="$2/lsn-inc" --incremental-lsn=${fullLsn} --parallel=${THREADS} | zstd -q -T0 -3 > "$2/inc.xb.zst"`,
      cnf,
      rawDir,
    );
    await quiet('raw: extract, prepare, apply, copy-back');
    note('raw: extract, prepare, apply, copy-back');
    const rawRestore = await sh(
      'mkdir -p "$1/base" "$1/inc" && zstd -q -dc "$1/full.xb.zst" | mbstream -x -C "$1/base" && zstd -q -dc "$1/inc.xb.zst" | mbstream -x -C "$1/inc"' +
        ' && mariabackup --defaults-file=/dev/null --prepare --target-dir="$1/base" --use-memory=256M' +
        ' && mariabackup --defaults-file=/dev/null --prepare --target-dir="$1/base" --incremental-dir="$1/inc" --use-memory=256M' +
        ' && mariabackup --defaults-file=/dev/null --copy-back --target-dir="$1/base" --datadir="$1/restored"',
      rawDir,
    );
    const rawSizes = { full: (await stat(join(rawDir, 'full.xb.zst'))).size, inc: (await stat(join(rawDir, 'inc.xb.zst'))).size };
    await rm(rawDir, { recursive: true, force: true });

    // --- dbferry: Temporal, a worker process, a file target
    const temporal = await startTemporalDevServer({
      headless: true,
      searchAttributes: searchAttributeFlags,
      logFile: join(work, 'temporal.log'),
    });
    cleanups.push(() => temporal.stop());
    const local: Record<string, unknown> = { host: server.host, port: server.port, user: server.user, flavor: 'mariadb', allowWrite: true };
    if (server.password) local.passwordEnv = 'BENCH_MYSQL_PASSWORD';
    await mkdir(join(work, 'file-target'), { recursive: true });
    const configPath = join(work, 'dbferry.json');
    await writeFile(
      configPath,
      JSON.stringify({
        connections: { local },
        control: { connection: 'local', database: 'dbferry_bench_control' },
        // The bench starts its runs straight on Temporal as this user.
        access: { users: { bench: { role: 'admin' } } },
        workDir: join(work, 'dbferry'),
        restoreRoots: [work],
        taskQueue: TASK_QUEUE,
        targets: { files: { url: `file://${join(work, 'file-target')}` } },
      }),
    );
    note('starting `dbferry worker`');
    const worker = await spawnWorkerProcess(configPath, { TEMPORAL_ADDRESS: temporal.address }, 120_000);
    cleanups.push(async () => {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    });
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });
    const physical = async (kind: PhysicalBackupWorkflowInput['kind']) => {
      const input: PhysicalBackupWorkflowInput = {
        backupId: randomUUID(),
        connection: 'local',
        target: 'files',
        kind,
        compression: 'zstd',
        threads: THREADS,
        parentId: null,
        requestedBy: 'bench',
        callbackUrl: null,
        scheduleId: null,
        retention: null,
      };
      const t0 = performance.now();
      const handle = await client.workflow.start<(i: PhysicalBackupWorkflowInput) => Promise<PhysicalBackupState>>('physicalBackup', {
        taskQueue: TASK_QUEUE,
        workflowId: physicalBackupWorkflowId('local'),
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        args: [input],
      });
      const state = await handle.result();
      const seconds = (performance.now() - t0) / 1000;
      return { seconds, state, steps: await activitySpans(handle) };
    };
    // The worker is a long-running service: its first workflow task loads the workflow bundle into
    // its sandbox (~1 s, once per process). One untimed logical backup of a tiny database pays that
    // first, as bench:backup does, so the timed full backup measures the backup.
    {
      const warm = 'dbferry_bench_phys_warmup';
      const conn = await rootConnection();
      await conn.query(`CREATE DATABASE IF NOT EXISTS ${id(warm)}`);
      await conn.query(`CREATE TABLE IF NOT EXISTS ${id(warm)}.t (id INT PRIMARY KEY)`);
      note('warming the worker up (untimed): one tiny logical backup');
      await client.workflow.execute('backupDatabase', {
        taskQueue: TASK_QUEUE,
        workflowId: `bench-warmup-${randomUUID()}`,
        args: [
          {
            backupId: randomUUID(),
            source: { connection: 'local', database: warm },
            target: 'files',
            format: 'mysqldump',
            compression: 'zstd',
            threads: 1,
            requestedBy: 'bench',
            callbackUrl: null,
            scheduleId: null,
            retention: null,
          },
        ],
      });
      await conn.query(`DROP DATABASE IF EXISTS ${id(warm)}`);
      await conn.end();
    }
    await quiet('dbferry: physical full');
    note('dbferry: physical full');
    const full = await physical('physical-full');
    await changeSomething(database, 2);
    await quiet('dbferry: physical incremental');
    note('dbferry: physical incremental');
    const inc = await physical('physical-incremental');
    await quiet('dbferry: restoreChain → folder');
    note('dbferry: restoreChain → folder');
    const folder = join(work, 'dbferry-restored');
    const restoreInput: RestoreChainWorkflowInput = {
      restoreId: randomUUID(),
      target: 'files',
      backupId: inc.state.id,
      before: null,
      connection: null,
      deliver: { kind: 'folder', path: folder },
      threads: THREADS,
      requestedBy: 'bench',
      callbackUrl: null,
    };
    const r0 = performance.now();
    const restoreHandle = await client.workflow.start<(i: RestoreChainWorkflowInput) => Promise<RestoreChainState>>('restoreChain', {
      taskQueue: TASK_QUEUE,
      workflowId: restoreChainWorkflowId(restoreInput.deliver),
      args: [restoreInput],
    });
    await restoreHandle.result();
    const restoreSeconds = (performance.now() - r0) / 1000;
    const restoreSteps = await activitySpans(restoreHandle);

    const raw_s = rawFull + rawInc + rawRestore;
    const dbferry_s = full.seconds + inc.seconds + restoreSeconds;
    const result = {
      database,
      rows: ROWS,
      database_mb: Math.round(source.bytes / 1e6),
      threads: THREADS,
      raw_full_s: round(rawFull),
      raw_incremental_s: round(rawInc),
      raw_restore_s: round(rawRestore),
      raw_total_s: round(raw_s),
      raw_full_bytes: rawSizes.full,
      raw_incremental_bytes: rawSizes.inc,
      dbferry_full_s: round(full.seconds),
      dbferry_incremental_s: round(inc.seconds),
      dbferry_restore_s: round(restoreSeconds),
      dbferry_total_s: round(dbferry_s),
      dbferry_full_bytes: full.state.size,
      dbferry_incremental_bytes: inc.state.size,
      dbferry_full_steps: full.steps,
      dbferry_incremental_steps: inc.steps,
      dbferry_restore_steps: restoreSteps,
      busy_windows: busyWindows,
      ratio: round(dbferry_s / raw_s),
    };
    console.log(
      `raw ${round(raw_s, 1)} s (full ${round(rawFull, 1)}, incremental ${round(rawInc, 1)}, restore ${round(rawRestore, 1)}) · dbferry ${round(dbferry_s, 1)} s (full ${round(full.seconds, 1)}, incremental ${round(inc.seconds, 1)}, restore ${round(restoreSeconds, 1)})`,
    );
    console.log(JSON.stringify(result));
  } finally {
    const conn = await rootConnection();
    await conn.query(`DROP TABLE IF EXISTS ${id(database)}.bench_phys_1, ${id(database)}.bench_phys_2`).finally(() => conn.end());
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

await main();

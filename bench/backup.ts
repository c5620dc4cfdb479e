// Backup benchmark: the same generated database backed up, on the same machine, by
//   (a) raw `mysqldump … | gzip > file` and raw `mydumper → dir; tar | zstd > file`,
//   (b) dbferry's backupDatabase workflow (Temporal dev server + worker in this process) into the
//       local S3 server (versitygw), mysqldump+gzip and mydumper+zstd,
// then restored: raw `gunzip < file | mysql` against dbferry's restoreBackup (checksum pass + load).
// The worker runs as its own `dbferry worker` process; its RSS is sampled from /proc during every
// dbferry run, on the database and on one `--larger` times bigger, to show that memory does not
// grow with the database (the tools it spawns are separate processes and not counted).
//
//   npm run bench:backup -- [--rows N] [--larger 4] [--threads 2] [--skip-larger] [--skip-restore]
//
// Rows default to 1,000,000 (about 130 MB of InnoDB data; --rows or BENCH_ROWS to change). The
// source databases (dbferry_bench_src_<rows>) are generated once and reused.
// Progress goes to stderr; stdout is a table and, as its last line, one JSON object.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowIdConflictPolicy, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { MYSQLDUMP_FLAGS } from '../src/activities/backup/dump-to-store.ts';
import { MYDUMPER_FLAGS } from '../src/activities/tools/mydumper.ts';
import { parseConfig } from '../src/config/load.ts';
import { startS3Server } from '../src/dev/s3-server.ts';
import { startTemporalDevServer } from '../src/dev/temporal-server.ts';
import { spawnWorkerProcess } from '../src/dev/worker-process.ts';
import {
  backupWorkflowId,
  type BackupState,
  type BackupWorkflowInput,
  type RestoreWorkflowInput,
} from '../src/workflows/backup/contracts.ts';
import { copyWorkflowId } from '../src/workflows/copy/contracts.ts';
import { searchAttributeFlags } from '../src/shared/temporal.ts';
import { BackupStores } from '../src/activities/storage/stores.ts';
import { defaultDatabaseName, generateBenchDatabase } from './generate.ts';
import {
  cpuDelta,
  cpuTotals,
  dropDatabase,
  id,
  note,
  rootConnection,
  round,
  runLogged,
  server,
  textTable,
  writeDefaultsFile,
} from './lib.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: process.env.BENCH_ROWS ?? '1000000' },
    larger: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    'skip-larger': { type: 'boolean', default: false },
    'skip-restore': { type: 'boolean', default: false },
    'quiet-wait': { type: 'string', default: '120' },
  },
});
const ROWS = Number(args.rows.replace(/_/g, ''));
const LARGER = Number(args.larger);
const THREADS = Number(args.threads);
if (!Number.isInteger(ROWS) || ROWS < 3 || !Number.isInteger(LARGER) || LARGER < 1 || !Number.isInteger(THREADS) || THREADS < 1) {
  throw new Error('bench: --rows, --larger and --threads must be positive integers');
}
const MiB = 1024 * 1024;
const TASK_QUEUE = 'dbferry-bench-backup';

const QUIET_WAIT_S = Number(args['quiet-wait']);
// Processes of this benchmark whose CPU is not "someone else's" (the worker, once started).
const ownPids: Record<string, number | null> = {};
const busyWindows: string[] = [];

/**
 * Waits (up to --quiet-wait seconds) for a 3 s stretch in which the rest of the machine, the
 * database server included, uses under 10 % of one core, so a timed run does not share the two
 * cores with someone else's tests. Windows that never got quiet are listed in the report.
 */
async function waitForQuietMachine(what: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    const c0 = await cpuTotals(ownPids);
    await new Promise((r) => setTimeout(r, 3000));
    const other = cpuDelta(c0, await cpuTotals(ownPids)).other ?? 0;
    if (other < 0.3) return;
    if ((performance.now() - started) / 1000 >= QUIET_WAIT_S) {
      note(`  machine still busy (other processes: ${(other / 3).toFixed(2)} cores); timing ${what} anyway`);
      busyWindows.push(what);
      return;
    }
  }
}

/** Resident set size of a process, from /proc (what `ps` shows as RSS). */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** Samples the worker's RSS every 20 ms while `fn` runs: the value just before, and the peak. */
async function withPeakRss<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; peakMiB: number; baseMiB: number }> {
  const base = await rssMiB(pid);
  let peak = base;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssMiB(pid));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const result = await fn();
    return { result, peakMiB: round(peak, 1), baseMiB: round(base, 1) };
  } finally {
    sampling = false;
    await sampler;
  }
}

/** Seconds from start to completion of each activity (the last attempt), read from a run's history. */
async function activitySpans(handle: WorkflowHandle): Promise<Record<string, number>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const spans: Record<string, number> = {};
  const scheduled = new Map<string, string>();
  const started = new Map<string, number>();
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    if (e.activityTaskStartedEventAttributes)
      started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), tsToMs(e.eventTime));
    if (e.activityTaskCompletedEventAttributes) {
      const sid = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
      spans[scheduled.get(sid)!] = (tsToMs(e.eventTime) - started.get(sid)!) / 1000;
    }
  }
  return spans;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'dbferry-bench-backup-'));
  const cleanups: Array<() => Promise<void>> = [async () => rm(work, { recursive: true, force: true })];
  try {
    const sources = [await generateBenchDatabase(defaultDatabaseName(ROWS), { rows: ROWS })];
    if (!args['skip-larger'] && LARGER > 1)
      sources.push(await generateBenchDatabase(defaultDatabaseName(ROWS * LARGER), { rows: ROWS * LARGER }));
    const cnf = await writeDefaultsFile(work);

    // --- raw pipelines, the same flags dbferry uses, writing local files
    const raw = async (database: string) => {
      await waitForQuietMachine(`raw mysqldump ${database}`);
      note(`raw: mysqldump | gzip > file (${database})`);
      const sqlGz = join(work, `${database}.sql.gz`);
      const mysqldump_s = await runLogged(
        'bash',
        [
          '-c',
          `set -o pipefail; mysqldump --defaults-file="$1" ${MYSQLDUMP_FLAGS.join(' ')} "$2" | gzip > "$3"`,
          'bench',
          cnf,
          database,
          sqlGz,
        ],
        join(work, 'raw.log'),
      );
      await waitForQuietMachine(`raw mydumper ${database}`);
      note(`raw: mydumper → dir; tar | zstd > file (${database})`);
      const dumpDir = join(work, 'raw-mydumper');
      const tarZst = join(work, `${database}.tar.zst`);
      const dump_s = await runLogged(
        'mydumper',
        ['--defaults-file', cnf, '--database', database, '--outputdir', dumpDir, '--threads', String(THREADS), ...MYDUMPER_FLAGS],
        join(work, 'raw.log'),
      );
      const tar_s = await runLogged(
        'bash',
        ['-c', 'set -o pipefail; tar -C "$1" -cf - . | zstd -q -T0 -3 > "$2"', 'bench', dumpDir, tarZst],
        join(work, 'raw.log'),
      );
      await rm(dumpDir, { recursive: true, force: true });
      const sizes = { gz: (await stat(sqlGz)).size, zst: (await stat(tarZst)).size };
      await rm(tarZst, { force: true });
      return { mysqldump_s, mydumper_s: dump_s + tar_s, sqlGz, sizes };
    };

    // --- the stack: Temporal, S3, a worker in this process
    const temporal = await startTemporalDevServer({
      headless: true,
      searchAttributes: searchAttributeFlags,
      logFile: join(work, 'temporal.log'),
    });
    cleanups.push(() => temporal.stop());
    const s3 = await startS3Server({ dataDir: join(work, 's3') });
    cleanups.push(() => s3.stop());
    process.env.BENCH_S3_KEY = s3.accessKeyId;
    process.env.BENCH_S3_SECRET = s3.secretAccessKey;
    const local: Record<string, unknown> = { host: server.host, port: server.port, user: server.user, flavor: 'mariadb', allowWrite: true };
    if (server.password) local.passwordEnv = 'BENCH_MYSQL_PASSWORD';
    const configText = JSON.stringify({
      connections: { local },
      control: { connection: 'local', database: 'dbferry_bench_control' },
      // The bench starts its runs straight on Temporal as this user.
      access: { users: { bench: { role: 'admin' } } },
      workDir: join(work, 'dbferry'),
      taskQueue: TASK_QUEUE,
      targets: {
        s3: {
          url: 's3://dbferry-bench/backups',
          endpoint: s3.endpoint,
          accessKeyIdEnv: 'BENCH_S3_KEY',
          secretAccessKeyEnv: 'BENCH_S3_SECRET',
        },
        // The same backup into a local directory: dbferry's own cost, without the S3 server's.
        files: { url: `file://${join(work, 'file-target')}` },
      },
    });
    const stores = new BackupStores(parseConfig(configText, 'bench config'));
    cleanups.push(async () => stores.close());
    await stores.get('s3').ensureBucket();
    await stores.get('files').ensureBucket();
    const configPath = join(work, 'dbferry.json');
    await writeFile(configPath, configText);
    note('starting `dbferry worker` (bundles the workflows first)');
    const worker = await spawnWorkerProcess(configPath, { TEMPORAL_ADDRESS: temporal.address }, 120_000);
    cleanups.push(async () => {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    });
    const workerPid = worker.pid!;
    ownPids.worker = workerPid;
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    const backup = async (database: string, format: 'mysqldump' | 'mydumper', compression: 'gzip' | 'zstd', target = 's3') => {
      const input: BackupWorkflowInput = {
        backupId: randomUUID(),
        source: { connection: 'local', database },
        target,
        format,
        compression,
        threads: THREADS,
        requestedBy: 'bench',
        callbackUrl: null,
        scheduleId: null,
        retention: null,
      };
      await waitForQuietMachine(`dbferry ${format} ${database}`);
      note(`dbferry: backup ${database} (${format} + ${compression}) → ${target}`);
      const { result, peakMiB, baseMiB } = await withPeakRss(workerPid, async () => {
        const t0 = performance.now();
        const handle = await client.workflow.start('backupDatabase', {
          taskQueue: TASK_QUEUE,
          workflowId: backupWorkflowId(input.source),
          args: [input],
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        });
        const state = (await handle.result()) as BackupState;
        const seconds = (performance.now() - t0) / 1000;
        const spans = await activitySpans(handle);
        note(
          `  ${seconds.toFixed(2)} s; activities: ${Object.entries(spans)
            .map(([name, s]) => `${name} ${s.toFixed(2)} s`)
            .join(', ')}`,
        );
        return { state, seconds, spans };
      });
      return { ...result, peakMiB, baseMiB };
    };

    // The worker is a long-running service: its first workflow task loads the workflow bundle into
    // its sandbox and its first upload opens the S3 client (~1 s once per process). One small untimed
    // backup of each kind pays that before the timed runs, as a worker that has been up a while has.
    const warmDb = 'dbferry_bench_warmup';
    {
      const conn = await rootConnection();
      await conn.query(`CREATE DATABASE IF NOT EXISTS ${id(warmDb)}`);
      await conn.query(`CREATE TABLE IF NOT EXISTS ${id(warmDb)}.t (id INT PRIMARY KEY)`);
      await conn.query(`INSERT IGNORE INTO ${id(warmDb)}.t VALUES (1), (2), (3)`);
      await conn.end();
      cleanups.push(async () => {
        const c = await rootConnection();
        await dropDatabase(c, warmDb).finally(() => c.end());
      });
      note('warming the worker up (untimed): one small backup of each kind');
      for (const [format, compression] of [
        ['mysqldump', 'gzip'],
        ['mydumper', 'zstd'],
      ] as const) {
        for (const target of ['s3', 'files']) {
          const input: BackupWorkflowInput = {
            backupId: randomUUID(),
            source: { connection: 'local', database: warmDb },
            target,
            format,
            compression,
            threads: THREADS,
            requestedBy: 'bench',
            callbackUrl: null,
            scheduleId: null,
            retention: null,
          };
          await client.workflow.execute('backupDatabase', {
            taskQueue: TASK_QUEUE,
            workflowId: `${backupWorkflowId(input.source)}:${target}:${format}`,
            args: [input],
            workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
          });
        }
      }
    }

    // Raw first, then dbferry, per database: the same page cache state for both.
    const runs = [];
    for (const source of sources) {
      const r = await raw(source.database);
      const sql = await backup(source.database, 'mysqldump', 'gzip');
      const md = await backup(source.database, 'mydumper', 'zstd');
      const sqlFile = await backup(source.database, 'mysqldump', 'gzip', 'files');
      const mdFile = await backup(source.database, 'mydumper', 'zstd', 'files');
      runs.push({ source, raw: r, sql, md, sqlFile, mdFile });
    }
    const [first] = runs as [(typeof runs)[number]];
    const dbMysqldump = first.sql;

    // --- restore: raw gunzip | mysql against dbferry's checksum pass + streaming load
    let restore: Record<string, number> | null = null;
    if (!args['skip-restore']) {
      const conn = await rootConnection();
      const rawDst = 'dbferry_bench_restore_raw';
      const dbDst = 'dbferry_bench_restore_dbferry';
      try {
        await dropDatabase(conn, rawDst);
        await dropDatabase(conn, dbDst);
        await conn.query(`CREATE DATABASE ${id(rawDst)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
        await waitForQuietMachine('raw restore');
        note('raw: gunzip < file | mysql');
        const rawLoad = await runLogged(
          'bash',
          ['-c', 'set -o pipefail; gunzip -c "$2" | mysql --defaults-file="$1" --binary-mode "$3"', 'bench', cnf, first.raw.sqlGz, rawDst],
          join(work, 'raw.log'),
        );
        await waitForQuietMachine('dbferry restore');
        note('dbferry: restore (sha256 pass, then download | gunzip | mysql)');
        const input: RestoreWorkflowInput = {
          restoreId: randomUUID(),
          target: 's3',
          key: dbMysqldump.state.key!,
          destination: { connection: 'local', database: dbDst },
          recreateDestination: false,
          threads: THREADS,
          requestedBy: 'bench',
          callbackUrl: null,
        };
        const { result, peakMiB } = await withPeakRss(workerPid, async () => {
          const t0 = performance.now();
          const handle = await client.workflow.start('restoreBackup', {
            taskQueue: TASK_QUEUE,
            workflowId: copyWorkflowId(input.destination),
            args: [input],
            workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
          });
          await handle.result();
          const seconds = (performance.now() - t0) / 1000;
          // Time per activity from the history: the checksum pass against the load itself.
          return { seconds, spans: await activitySpans(handle) };
        });
        restore = {
          raw_load_s: round(rawLoad),
          dbferry_restore_s: round(result.seconds),
          checksum_pass_s: round(result.spans.verifyBackupChecksum ?? NaN),
          load_s: round(result.spans.loadSqlBackup ?? NaN),
          verify_counts_s: round(result.spans.verifyCopy ?? NaN),
          ratio: round(rawLoad / result.seconds),
          peak_rss_mb: peakMiB,
        };
      } finally {
        await dropDatabase(conn, rawDst);
        await dropDatabase(conn, dbDst);
        await conn.end();
      }
    }

    const rows: Array<Array<string | number>> = [];
    const summary = runs.map(({ source, raw: r, sql, md, sqlFile, mdFile }) => {
      const mb = source.bytes / 1e6;
      const label = `${source.rows / 1e6}M rows`;
      rows.push(
        [
          `${label}: raw mysqldump | gzip > file`,
          round(r.mysqldump_s, 2),
          round(mb / r.mysqldump_s, 1),
          round(r.sizes.gz / MiB, 1),
          '',
          '',
        ],
        [
          `${label}: dbferry mysqldump + gzip → S3`,
          round(sql.seconds, 2),
          round(mb / sql.seconds, 1),
          round(sql.state.size! / MiB, 1),
          `${sql.baseMiB} → ${sql.peakMiB}`,
          round(r.mysqldump_s / sql.seconds, 2),
        ],
        [
          `${label}: dbferry mysqldump + gzip → file target`,
          round(sqlFile.seconds, 2),
          round(mb / sqlFile.seconds, 1),
          round(sqlFile.state.size! / MiB, 1),
          `${sqlFile.baseMiB} → ${sqlFile.peakMiB}`,
          round(r.mysqldump_s / sqlFile.seconds, 2),
        ],
        [
          `${label}: raw mydumper; tar | zstd > file`,
          round(r.mydumper_s, 2),
          round(mb / r.mydumper_s, 1),
          round(r.sizes.zst / MiB, 1),
          '',
          '',
        ],
        [
          `${label}: dbferry mydumper + zstd → S3`,
          round(md.seconds, 2),
          round(mb / md.seconds, 1),
          round(md.state.size! / MiB, 1),
          `${md.baseMiB} → ${md.peakMiB}`,
          round(r.mydumper_s / md.seconds, 2),
        ],
        [
          `${label}: dbferry mydumper + zstd → file target`,
          round(mdFile.seconds, 2),
          round(mb / mdFile.seconds, 1),
          round(mdFile.state.size! / MiB, 1),
          `${mdFile.baseMiB} → ${mdFile.peakMiB}`,
          round(r.mydumper_s / mdFile.seconds, 2),
        ],
      );
      return {
        rows: source.rows,
        source_mb: round(mb, 1),
        raw_mysqldump_gzip_s: round(r.mysqldump_s, 2),
        dbferry_mysqldump_gzip_s: round(sql.seconds, 2),
        ratio_mysqldump: round(r.mysqldump_s / sql.seconds, 3),
        raw_mydumper_zstd_s: round(r.mydumper_s, 2),
        dbferry_mydumper_zstd_s: round(md.seconds, 2),
        ratio_mydumper: round(r.mydumper_s / md.seconds, 3),
        ratio_file_target: round(r.mysqldump_s / sqlFile.seconds, 3),
        ratio_mydumper_file_target: round(r.mydumper_s / mdFile.seconds, 3),
        worker_rss_before_mb: Math.min(sql.baseMiB, md.baseMiB),
        peak_rss_mb: Math.max(sql.peakMiB, md.peakMiB, sqlFile.peakMiB, mdFile.peakMiB),
      };
    });
    console.log(
      `worker: a separate \`dbferry worker\` process; RSS in MiB before → peak during each run (the tools it spawns are not counted)`,
    );
    console.log(textTable(['run', 'seconds', 'MB/s (InnoDB)', 'object MiB', 'worker RSS MiB', 'ratio'], rows));
    if (restore) console.log(`restore (${first.source.rows} rows, mysqldump + gzip): ${JSON.stringify(restore)}`);
    const largest = summary.at(-1)!;
    console.log(
      JSON.stringify({
        threads: THREADS,
        // The seed's format on the default database; the issue's headline figure.
        ratio: summary[0]!.ratio_mysqldump,
        ratio_mydumper: summary[0]!.ratio_mydumper,
        peak_rss_mb: largest.peak_rss_mb,
        peak_rss_mb_default: summary[0]!.peak_rss_mb,
        runs: summary,
        restore,
        busy_windows: busyWindows,
      }),
    );
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e: Error) => note(`cleanup: ${e.message}`));
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    note(error.stack ?? error.message);
    process.exit(1);
  },
);

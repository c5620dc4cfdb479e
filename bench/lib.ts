// Shared helpers for the benchmarks: root connections to the local server, option files for the
// command-line tools, child processes with timing, table fingerprints and number formatting.
import { spawn } from 'node:child_process';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';

/** The server the benchmark runs against; root with an empty password unless BENCH_MYSQL_* say otherwise. */
export const server = {
  host: process.env.BENCH_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.BENCH_MYSQL_PORT ?? 3306),
  user: process.env.BENCH_MYSQL_USER ?? 'root',
  password: process.env.BENCH_MYSQL_PASSWORD ?? '',
};

export async function rootConnection(database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    ...server,
    ...(database === undefined ? {} : { database }),
    charset: 'utf8mb4',
    multipleStatements: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
}

export async function query<T extends RowDataPacket = RowDataPacket>(
  conn: mysql.Connection,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await conn.query<T[]>(sql, params))[0];
}

/** Quotes a database/table name that the benchmark chose itself (letters, digits, _ only). */
export function id(name: string): string {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new Error(`bench: refusing identifier ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

/** A 0600 `[client]` option file for mysqldump/mysql/mydumper/myloader, so no password is on a command line. */
export async function writeDefaultsFile(dir: string): Promise<string> {
  const q = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const path = join(dir, 'bench-client.cnf');
  const body = [
    '[client]',
    `user=${q(server.user)}`,
    `password=${q(server.password)}`,
    `host=${q(server.host)}`,
    `port=${server.port}`,
    '',
  ];
  await writeFile(path, body.join('\n'), { mode: 0o600 });
  return path;
}

/**
 * Runs a command with stdout+stderr appended to `logFile`; resolves with the wall time in seconds
 * and rejects (quoting the log's tail) on a non-zero exit.
 */
export async function runLogged(command: string, args: string[], logFile: string): Promise<number> {
  const log = await open(logFile, 'a');
  const started = performance.now();
  try {
    const code = await new Promise<number | string>((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', log.fd, log.fd], env: { ...process.env, LC_ALL: 'C' } });
      child.once('error', reject);
      child.once('exit', (c, signal) => resolve(signal ?? c ?? -1));
    });
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) {
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).slice(-15).join('\n');
      // MariaDB >= 10.6 takes a table lock for a transaction inserting into an empty table with
      // unique_checks=0 and foreign_key_checks=0 (what myloader 0.10 sets); see mydumper/mydumper#987.
      const hint = /Lock wait timeout/.test(tail)
        ? '\n(hint: MariaDB bulk-insert table lock held by another myloader thread longer than innodb_lock_wait_timeout; other load on the server makes this likelier)'
        : '';
      throw new Error(`${command} exited with ${code}; last lines of ${logFile}:\n${tail}${hint}`);
    }
    return seconds;
  } finally {
    await log.close();
  }
}

/** Row count per table (exact COUNT(*)), in table-name order. */
export async function rowCounts(conn: mysql.Connection, db: string, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [r] = await query(conn, `SELECT COUNT(*) AS n FROM ${id(db)}.${id(t)}`);
    out[t] = Number(r?.n ?? -1);
  }
  return out;
}

/** CHECKSUM TABLE per table (a full scan of every row's values). */
export async function checksums(conn: mysql.Connection, db: string, tables: string[]): Promise<Record<string, string>> {
  const rows = await query(conn, `CHECKSUM TABLE ${tables.map((t) => `${id(db)}.${id(t)}`).join(', ')}`);
  const out: Record<string, string> = {};
  for (const r of rows) out[String(r.Table).split('.').pop()!] = String(r.Checksum);
  return out;
}

export async function baseTables(conn: mysql.Connection, db: string): Promise<string[]> {
  const rows = await query(
    conn,
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [db],
  );
  return rows.map((r) => String(r.t));
}

/** DATA_LENGTH + INDEX_LENGTH of a database after refreshing the statistics. */
export async function databaseBytes(conn: mysql.Connection, db: string): Promise<{ data: number; index: number }> {
  const tables = await baseTables(conn, db);
  if (tables.length) await query(conn, `ANALYZE TABLE ${tables.map((t) => `${id(db)}.${id(t)}`).join(', ')}`);
  const [r] = await query(
    conn,
    'SELECT COALESCE(SUM(DATA_LENGTH),0) AS d, COALESCE(SUM(INDEX_LENGTH),0) AS i FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
    [db],
  );
  return { data: Number(r?.d ?? 0), index: Number(r?.i ?? 0) };
}

export async function dropDatabase(conn: mysql.Connection, db: string): Promise<void> {
  await conn.query(`DROP DATABASE IF EXISTS ${id(db)}`);
}

/**
 * Waits until InnoDB has written back most dirty pages (read-only: it only polls status), so a run
 * does not pay for the previous run's page flushing. Returns the seconds waited.
 */
export async function settle(conn: mysql.Connection, timeoutS = 120): Promise<number> {
  const started = performance.now();
  for (;;) {
    const rows = await query(
      conn,
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total')",
    );
    const v = Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
    const dirty = v.Innodb_buffer_pool_pages_dirty ?? 0;
    const total = v.Innodb_buffer_pool_pages_total ?? 1;
    // Purge of an earlier step's UPDATEs and DELETEs (the undo history) runs in the background and
    // halved the speed of the step after it (seen: bench:pull rounds after a bare UPDATE, 11 s → 20 s).
    const [history] = await query(conn, "SELECT COUNT AS n FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'");
    const waited = (performance.now() - started) / 1000;
    if ((dirty <= total * 0.02 && Number(history?.n ?? 0) < 1000) || waited > timeoutS) return waited;
    await sleep(500);
  }
}

/**
 * Sessions of other clients running a statement right now: anything not touching the copy
 * benchmark's own dbferry_bench_copy_* databases or `source` (a shared server's other users, other
 * benchmarks included, are the main source of noise).
 */
export async function foreignBusySessions(conn: mysql.Connection, source = ''): Promise<number> {
  const rows = await query(
    conn,
    `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
      WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump') AND USER <> 'system user'
        AND COALESCE(DB, '') NOT LIKE 'dbferry\\_bench\\_copy%' AND COALESCE(INFO, '') NOT LIKE '%dbferry\\_bench\\_copy%'
        AND NOT (? <> '' AND (COALESCE(DB, '') = ? OR LOCATE(?, COALESCE(INFO, '')) > 0))`,
    [source, source, source],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Samples foreignBusySessions every second until stopped: {max, mean} over the window. */
export function watchForeignLoad(conn: mysql.Connection, source = ''): { stop(): Promise<{ max: number; mean: number }> } {
  const samples: number[] = [];
  let pending: Promise<void> = Promise.resolve();
  const sample = () => {
    pending = foreignBusySessions(conn, source).then(
      (n) => void samples.push(n),
      () => undefined,
    );
  };
  sample();
  const timer = setInterval(sample, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      const max = samples.length ? Math.max(...samples) : 0;
      return { max, mean: round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length), 2) };
    },
  };
}

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Renders rows as a left/right aligned text table (numbers right-aligned). */
export function textTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number' || /^[\d.,-]+$/.test(String(r[i]))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Logs to stderr so stdout stays the table plus the final JSON line. */
export function note(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Process accounting from /proc (Linux): where the CPU goes during a run, and exactly when the
// tools a run spawns (mydumper, myloader) start and stop, even inside dbferry's in-process worker.

const TICK = 100; // USER_HZ; getconf CLK_TCK is 100 on Linux
export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** Own user+system CPU seconds. */
  cpu: number;
  /** CPU seconds of reaped children. */
  childrenCpu: number;
  /** Seconds after boot when the process started. */
  startedAfterBoot: number;
}

export async function procStat(pid: number): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!text) return null;
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  const n = (i: number): number => Number(f[i] ?? 0);
  return { pid, comm, ppid: n(1), cpu: (n(11) + n(12)) / TICK, childrenCpu: (n(13) + n(14)) / TICK, startedAfterBoot: n(19) / TICK };
}

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(' ').filter(Boolean).map(Number);
}

async function uptime(): Promise<number> {
  return Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
}

/** The pid of the local MariaDB/MySQL server, if it runs on this machine. */
export async function findServerPid(): Promise<number | null> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '')).trim();
    if (comm === 'mariadbd' || comm === 'mysqld') return Number(entry);
  }
  return null;
}

/** Busy CPU seconds of the whole machine since boot (all cores; /proc/stat). */
async function machineBusy(): Promise<number> {
  const first = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = first.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICK;
}

/**
 * CPU seconds so far: this process, its reaped children (the tools), the given processes, and
 * `other`: everything else on the machine (other users' work competing for the same cores).
 */
export async function cpuTotals(pids: Record<string, number | null>): Promise<Record<string, number>> {
  const self = await procStat(process.pid);
  const out: Record<string, number> = { node: self?.cpu ?? 0, tools: self?.childrenCpu ?? 0 };
  for (const [name, pid] of Object.entries(pids)) {
    const s = pid === null ? null : await procStat(pid);
    out[name] = s ? s.cpu + s.childrenCpu : 0;
  }
  out.other = (await machineBusy()) - Object.values(out).reduce((a, b) => a + b, 0);
  return out;
}

export const cpuDelta = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.keys(b).map((k) => [k, round(b[k]! - (a[k] ?? 0), 2)]));

/** The temporal CLI child of this process (the dev server), if any. */
export async function findChild(comm: string): Promise<number | null> {
  for (const pid of await childrenOf(process.pid)) if ((await procStat(pid))?.comm === comm) return pid;
  return null;
}

export interface ToolLifetime {
  tool: string;
  /** Epoch ms of the exec (exact, from /proc starttime to 10 ms). */
  startMs: number;
  /** Epoch ms it was last seen alive (sampling period late at most). */
  endMs: number;
  cpu: number;
}

/** Samples this process's children every `periodMs` and records each named tool's lifetime. */
export function watchTools(names: string[], periodMs = 100): { stop(): Promise<ToolLifetime[]> } {
  const seen = new Map<number, ToolLifetime>();
  let busy = false;
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = Date.now();
      const up = await uptime();
      for (const pid of await childrenOf(process.pid)) {
        const s = await procStat(pid);
        if (!s || !names.includes(s.comm)) continue;
        const known = seen.get(pid);
        if (known) {
          known.endMs = now;
          known.cpu = s.cpu;
        } else {
          seen.set(pid, { tool: s.comm, startMs: now - (up - s.startedAfterBoot) * 1000, endMs: now, cpu: s.cpu });
        }
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), periodMs);
  return {
    async stop() {
      clearInterval(timer);
      return [...seen.values()].sort((a, b) => a.startMs - b.startMs);
    },
  };
}

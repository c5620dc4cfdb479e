// Shared helpers for the benchmarks: root connections to the local server, option files for the
// command-line tools, child processes with timing, table fingerprints and number formatting.
import { spawn } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
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

export async function query<T extends RowDataPacket = RowDataPacket>(conn: mysql.Connection, sql: string, params: unknown[] = []): Promise<T[]> {
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
  const body = ['[client]', `user=${q(server.user)}`, `password=${q(server.password)}`, `host=${q(server.host)}`, `port=${server.port}`, ''];
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
      throw new Error(`${command} exited with ${code}; last lines of ${logFile}:\n${tail}`);
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
  const rows = await query(conn, "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", [db]);
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
    const rows = await query(conn, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total')");
    const v = Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
    const dirty = v.Innodb_buffer_pool_pages_dirty ?? 0;
    const total = v.Innodb_buffer_pool_pages_total ?? 1;
    const waited = (performance.now() - started) / 1000;
    if (dirty <= total * 0.02 || waited > timeoutS) return waited;
    await sleep(500);
  }
}

/** Other sessions currently running a statement on the server (noise from concurrent users). */
export async function busySessions(conn: mysql.Connection): Promise<number> {
  const rows = await query(
    conn,
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump') AND USER <> 'system user'",
  );
  return Number(rows[0]?.n ?? 0);
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
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Logs to stderr so stdout stays the table plus the final JSON line. */
export function note(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

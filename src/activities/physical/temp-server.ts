// A short-lived mariadbd/mysqld on a restored datadir: its own socket, pid file, tmp dir and error
// log inside one private run directory, and a port only when asked for. Started to read a restored
// database out of, stopped (SIGTERM, then SIGKILL) whatever happens; a pid file lets a later attempt
// stop one that a dead worker left running.
import { spawn } from 'node:child_process';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { isRunning, livePidFromFile } from '../tools/tools.ts';

export interface TempServerOptions {
  datadir: string;
  /** Private directory for the socket, pid file, tmp dir and error log (created 0700). */
  runDir: string;
  /** A loopback TCP port; null serves the socket only. */
  port: number | null;
  /**
   * Skip the privilege tables: the restored server's users and passwords are the source's, which
   * the worker does not know. Only with `port: null`, so nothing but the worker's user (owner of the
   * 0700 run directory) can reach it.
   */
  skipGrantTables: boolean;
  /** mariadbd (default) or mysqld. */
  binary?: string;
  startTimeoutMs?: number;
}

export interface TempServer {
  socket: string;
  port: number | null;
  pid: number;
  pidFile: string;
  logFile: string;
  stop(): Promise<void>;
}

export const tempServerPaths = (runDir: string) => ({
  socket: join(runDir, 'mysqld.sock'),
  pidFile: join(runDir, 'mysqld.pid'),
  logFile: join(runDir, 'error.log'),
  tmpDir: join(runDir, 'tmp'),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last lines of the server's error log, for a failure message. */
async function logTail(logFile: string, lines = 8): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => /ERROR|error|Aborting/i.test(l))
      .slice(-lines)
      .join(' | ') || text.trim().split('\n').slice(-3).join(' | ')
  );
}

/** The server's command line: backup-my.cnf (innodb page size, log and undo layout of the backup) first, when there is one. */
export async function tempServerArgs(opts: TempServerOptions): Promise<string[]> {
  const paths = tempServerPaths(opts.runDir);
  const backupCnf = join(opts.datadir, 'backup-my.cnf');
  const hasBackupCnf = await access(backupCnf).then(
    () => true,
    () => false,
  );
  const args = [
    hasBackupCnf ? `--defaults-file=${backupCnf}` : '--no-defaults',
    `--datadir=${opts.datadir}`,
    `--socket=${paths.socket}`,
    `--pid-file=${paths.pidFile}`,
    `--tmpdir=${paths.tmpDir}`,
    `--log-error=${paths.logFile}`,
    '--skip-log-bin',
    '--skip-slave-start',
    '--skip-name-resolve',
    '--event-scheduler=DISABLED',
    '--innodb-buffer-pool-size=256M',
    '--innodb-fast-shutdown=1',
  ];
  if (opts.port === null) args.push('--skip-networking');
  else args.push(`--port=${opts.port}`, '--bind-address=127.0.0.1');
  if (opts.skipGrantTables) {
    if (opts.port !== null) throw new Error('a temporary server without privilege tables must not listen on a port');
    args.push('--skip-grant-tables');
  }
  if (process.getuid?.() === 0) args.push('--user=root');
  return args;
}

/** Starts the server and waits until it answers on its socket; refuses with the error log's words. */
export async function startTempServer(opts: TempServerOptions): Promise<TempServer> {
  const paths = tempServerPaths(opts.runDir);
  await mkdir(opts.runDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.tmpDir, { recursive: true, mode: 0o700 });
  await stopServerByPidFile(paths.pidFile);
  const child = spawn(opts.binary ?? 'mariadbd', await tempServerArgs(opts), {
    stdio: 'ignore',
    env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin' },
  });
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.on('error', () => (exited = -1));
  const pid = child.pid ?? -1;
  const stop = async () => {
    if (pid > 0 && isRunning(pid)) await stopPid(pid);
    await rm(paths.pidFile, { force: true });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
  for (;;) {
    if (exited !== undefined)
      throw new Error(`the temporary server on ${opts.datadir} exited (${exited}) while starting: ${await logTail(paths.logFile)}`);
    const conn = await mysql.createConnection({ socketPath: paths.socket, user: 'root', password: '' }).catch(() => null);
    if (conn) {
      await conn.end().catch(() => undefined);
      return { socket: paths.socket, port: opts.port, pid, pidFile: paths.pidFile, logFile: paths.logFile, stop };
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `the temporary server on ${opts.datadir} did not answer within ${opts.startTimeoutMs ?? 120_000} ms: ${await logTail(paths.logFile)}`,
      );
    }
    await sleep(200);
  }
}

/** SIGTERM (a clean InnoDB shutdown), then SIGKILL after `graceMs`; returns once the process is gone. */
async function stopPid(pid: number, graceMs = 60_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isRunning(pid) && Date.now() < deadline) await sleep(100);
  if (isRunning(pid)) {
    process.kill(pid, 'SIGKILL');
    while (isRunning(pid)) await sleep(50);
  }
}

/**
 * Stops the server whose pid file this is, if it is still a database server (a pid reused by
 * another program is left alone); removes the pid file. For cleanup after a dead worker.
 */
export async function stopServerByPidFile(pidFile: string): Promise<boolean> {
  const pid = await livePidFromFile(pidFile, (argv) => /mariadbd|mysqld/.test(argv.join('\0')));
  if (pid !== null) await stopPid(pid);
  await rm(pidFile, { force: true });
  return pid !== null;
}

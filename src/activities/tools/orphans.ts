// Pid files and the one orphan killer: a tool records its pid while it runs, so the next attempt
// after a worker crash kills what the dead attempt left behind instead of racing it.
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

/** Every program dbferry starts with a pid file: a pid file's process is killed only if it is one of them. */
const DBFERRY_TOOLS = new Set([
  'mydumper',
  'myloader',
  'mysqldump',
  'mysql',
  'mariabackup',
  'mariadb-backup',
  'xtrabackup',
  'mbstream',
  'xbstream',
  'zstd',
  'gzip',
  'tar',
  'cp',
]);

/**
 * True while `pid` runs. A zombie (exited, not yet reaped: an orphan whose new parent, PID 1 in
 * some containers, never reaps) counts as gone, or waiting for it would never end.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Writes `pid` to `pidFile` (just the number, as every daemon's pid file). */
export const recordPid = (pidFile: string, pid: number): Promise<void> => writeFile(pidFile, String(pid));

/**
 * The pid in `pidFile` when that process still runs and its command line passes `isOurs`; null
 * otherwise (no file, a dead process, a pid the system has since given to another program).
 */
export async function livePidFromFile(pidFile: string, isOurs: (argv: string[]) => boolean): Promise<number | null> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isRunning(pid)) return null;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return isOurs(cmdline.split('\0').filter(Boolean)) ? pid : null;
}

/**
 * Kills a tool left running by an earlier attempt whose worker died (the pid file outlives it), so
 * a retry never races an orphaned mydumper, myloader or mariabackup over the same files or
 * database; returns once it is gone, and removes the pid file. The process is killed only if it is
 * one of the tools dbferry runs (and, given `match`, if its command line matches too).
 */
export async function killOrphanedTool(pidFile: string, match?: RegExp): Promise<void> {
  const pid = await livePidFromFile(
    pidFile,
    (argv) => DBFERRY_TOOLS.has(basename(argv[0] ?? '')) && (match === undefined || match.test(argv.join('\0'))),
  );
  if (pid !== null) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await rm(pidFile, { force: true });
}

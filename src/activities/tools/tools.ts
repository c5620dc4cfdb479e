import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { ApplicationFailure } from '@temporalio/activity';
import type { ConnectionConfig } from '../../config/schema.ts';
import { resolvePassword } from '../../config/credentials.ts';

// Option files quote values in double quotes with backslash escapes (MySQL "Using Option Files").
const optionValue = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Extra option-file groups for one tool, e.g. `{ myloader: ['init-command=…'] }`. */
export type ToolOptions = Record<string, string[]>;

/**
 * The `[client]` option file body for a connection (mydumper, myloader and mysql all read it), plus
 * any tool-specific groups.
 */
export function defaultsFileBody(name: string, conn: ConnectionConfig, toolOptions: ToolOptions = {}): string {
  const lines = ['[client]', `user=${optionValue(conn.user)}`, `password=${optionValue(resolvePassword(name, conn))}`];
  if (conn.socket) lines.push(`socket=${optionValue(conn.socket)}`);
  else lines.push(`host=${optionValue(conn.host ?? '127.0.0.1')}`, `port=${conn.port ?? 3306}`);
  if (conn.tls?.ca) lines.push(`ssl-ca=${optionValue(conn.tls.ca)}`);
  if (conn.tls?.cert) lines.push(`ssl-cert=${optionValue(conn.tls.cert)}`);
  if (conn.tls?.key) lines.push(`ssl-key=${optionValue(conn.tls.key)}`);
  for (const [group, options] of Object.entries(toolOptions)) lines.push(`[${group}]`, ...options);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `fn` with a 0600 option file holding the connection's credentials, so passwords reach the
 * tools without ever appearing on a command line; the file is removed whatever happens.
 */
export async function withDefaultsFile<T>(
  workDir: string,
  name: string,
  conn: ConnectionConfig,
  fn: (path: string) => Promise<T>,
  toolOptions: ToolOptions = {},
): Promise<T> {
  const dir = join(workDir, '.secrets');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = join(dir, `${name}-${randomBytes(8).toString('hex')}.cnf`);
  await writeFile(path, defaultsFileBody(name, conn, toolOptions), { mode: 0o600, flag: 'wx' });
  try {
    return await fn(path);
  } finally {
    await rm(path, { force: true });
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Kills a tool left running by an earlier attempt whose worker died (the pid file outlives it),
 * so a retry never races an orphaned mydumper or myloader over the same files or database.
 */
export async function killOrphanedTool(pidFile: string): Promise<void> {
  const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (/my(dumper|loader)/.test(cmdline)) {
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await rm(pidFile, { force: true });
}

/**
 * Splits a tool's output into lines as it arrives, hands each to `onLine`, and keeps the last 30
 * for error messages; `finish()` adds a last line that had no newline.
 */
export function followLines(stream: Readable | null | undefined, onLine?: (line: string) => boolean | void) {
  const tail: string[] = [];
  let pending = '';
  const keep = (line: string): void => {
    if (!line.trim()) return;
    if (onLine?.(line) === false) return; // progress output, not worth an error message
    tail.push(line);
    if (tail.length > 30) tail.shift();
  };
  stream?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(keep);
  });
  return {
    tail,
    finish(): string[] {
      keep(pending);
      pending = '';
      return tail;
    },
  };
}

export interface ToolRun {
  command: string;
  args: string[];
  pidFile: string;
  signal: AbortSignal;
  onLine?: (line: string) => void;
}

/** Runs a native tool with the activity's cancellation; returns its last output lines for errors. */
export async function runTool({ command, args, pidFile, signal, onLine }: ToolRun): Promise<string[]> {
  const child = execa(command, args, {
    cancelSignal: signal,
    forceKillAfterDelay: 3000,
    stdin: 'ignore',
    buffer: false,
    all: true,
    env: { LC_ALL: 'C' },
  });
  // Output is read from the first byte, so a tool that fails at once still explains why.
  const output = followLines(child.all, onLine);
  // A tool can fail before the pid file is written; mark the rejection handled now, await it below.
  child.catch(() => undefined);
  if (child.pid) await writeFile(pidFile, String(child.pid));
  try {
    await child;
    return output.tail;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw toolFailure(command, output.finish(), error);
  } finally {
    await rm(pidFile, { force: true });
  }
}

// Failures that no retry can fix: wrong credentials, a missing database, missing privileges.
const PERMANENT = [
  { pattern: /Access denied/i, type: 'AuthenticationFailed' },
  { pattern: /Unknown database/i, type: 'DatabaseNotFound' },
  { pattern: /command denied|privilege/i, type: 'PermissionDenied' },
  { pattern: /ENOENT|not found/i, type: 'ToolMissing' },
];

/** Turns a tool's exit into a Temporal failure: permanent ones are non-retryable, the rest retried. */
export function toolFailure(command: string, tail: string[], cause: unknown): Error {
  const important = tail.filter((l) => /CRITICAL|ERROR|error|denied|Unknown/i.test(l)).slice(-5);
  const detail = (important.length ? important : tail.slice(-5)).join(' | ').slice(0, 2000);
  const exit = (cause as { exitCode?: number; code?: string }).exitCode ?? (cause as { code?: string }).code ?? 'unknown';
  const message = `${command} failed (exit ${exit}): ${detail || (cause as Error).message}`;
  const permanent = PERMANENT.find(
    (p) => p.pattern.test(detail) || ((cause as { code?: string }).code === 'ENOENT' && p.type === 'ToolMissing'),
  );
  return permanent ? ApplicationFailure.nonRetryable(message, permanent.type) : ApplicationFailure.retryable(message, 'ToolFailed');
}

// Physical backup tools as processes: mariabackup/xtrabackup and mbstream/xbstream with the
// activity's cancellation, stderr followed line by line (progress, error messages), a pid file so
// the next attempt after a worker crash kills an orphan, and checks a pre-flight can run.
import { spawn, type ChildProcess } from 'node:child_process';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { ApplicationFailure } from '@temporalio/activity';
import { followLines, toolFailure } from './tools.ts';
import { isRunning } from './processes.ts';

export interface PhysicalToolProcess {
  command: string;
  stdin: Writable | null;
  stdout: Readable | null;
  done: Promise<void>;
  readonly failure: unknown;
}

/** Starts a tool; `onLine` sees every stderr line (mariabackup logs each file it copies there). */
export function startPhysicalTool(
  command: string,
  args: string[],
  opts: { signal: AbortSignal; stdin?: 'pipe' | 'ignore'; stdout?: 'pipe' | 'ignore'; pidFile?: string; onLine?: (line: string) => void },
): PhysicalToolProcess {
  const child = execa(command, args, {
    cancelSignal: opts.signal,
    forceKillAfterDelay: 3000,
    stdin: opts.stdin ?? 'ignore',
    stdout: opts.stdout ?? 'pipe',
    stderr: 'pipe',
    buffer: false,
    env: { LC_ALL: 'C' },
  });
  const stderr = followLines(child.stderr, opts.onLine);
  child.catch(() => undefined);
  const recorded = opts.pidFile && child.pid ? writeFile(opts.pidFile, String(child.pid)) : Promise.resolve();
  const done = (async () => {
    try {
      await recorded;
      await child;
    } catch (error) {
      if (opts.signal.aborted) throw opts.signal.reason;
      throw toolFailure(command, stderr.finish(), error);
    } finally {
      if (opts.pidFile) await rm(opts.pidFile, { force: true });
    }
  })();
  let failure: unknown;
  done.catch((error: unknown) => (failure = error));
  return {
    command,
    stdin: child.stdin,
    stdout: child.stdout,
    done,
    get failure() {
      return failure;
    },
  };
}

/** Runs a tool to completion (prepare, extract from a file); returns its last stderr lines. */
export async function runPhysicalTool(
  command: string,
  args: string[],
  opts: { signal: AbortSignal; pidFile?: string; onLine?: (line: string) => void },
): Promise<void> {
  await startPhysicalTool(command, args, { ...opts, stdout: 'ignore' }).done;
}

/** Kills the process a dead attempt left behind (its pid file outlives it), if its command line still matches. */
export async function killOrphan(pidFile: string, match: RegExp): Promise<void> {
  const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
  if (Number.isInteger(pid) && pid > 0) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (match.test(cmdline)) {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
  }
  await rm(pidFile, { force: true });
}

const found = new Map<string, string>();

/** The tool's `--version` line; a missing binary is a non-retryable ToolMissing naming the package. Remembered once found. */
export async function requireTool(command: string, pkg: string): Promise<string> {
  const known = found.get(command);
  if (known !== undefined) return known;
  const line = await probeTool(command, pkg);
  found.set(command, line);
  return line;
}

async function probeTool(command: string, pkg: string): Promise<string> {
  const result = await execa(command, ['--version'], { env: { LC_ALL: 'C' }, reject: false });
  if ((result as { code?: string }).code === 'ENOENT' || (result.failed && !result.stdout && !result.stderr)) {
    throw ApplicationFailure.nonRetryable(
      `${command} is not installed on this worker (install ${pkg}); physical backups need it beside the database server`,
      'ToolMissing',
    );
  }
  return (result.stdout || result.stderr).split('\n')[0]!.replace(/\s+/g, ' ').trim();
}

/**
 * `zstd -dc FILE | mbstream -x -C DIR` with the two tools joined by an OS pipe and the file opened
 * for the first one: the bytes never pass through Node (the restore reads gigabytes this way). The
 * extractor's pid goes to `pidFile` for orphan cleanup (the decompressor dies with its pipe).
 */
export async function extractCompressedFile(opts: {
  file: string;
  compression: 'gzip' | 'zstd';
  command: string;
  args: string[];
  signal: AbortSignal;
  pidFile: string;
}): Promise<void> {
  const input = await open(opts.file, 'r');
  const env = { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const extract = spawn(opts.command, opts.args, { stdio: ['pipe', 'ignore', 'pipe'], env });
  const decompressor = opts.compression === 'zstd' ? 'zstd' : 'gzip';
  const decompress = spawn(decompressor, ['-q', '-d', '-c'], { stdio: [input.fd, extract.stdin!, 'pipe'], env });
  // The children hold their own copies: close ours, so the extractor sees the end when the decompressor exits.
  extract.stdin!.destroy();
  await input.close();
  const tails = [followLines(extract.stderr), followLines(decompress.stderr)];
  const exited = (child: ChildProcess) =>
    new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('close', (code) => resolve({ code }));
    });
  const done = Promise.all([exited(extract), exited(decompress)]);
  if (extract.pid) await writeFile(opts.pidFile, String(extract.pid));
  const abort = () => {
    for (const child of [extract, decompress]) child.kill('SIGKILL');
  };
  opts.signal.addEventListener('abort', abort, { once: true });
  try {
    const [x, d] = await done;
    if (opts.signal.aborted) throw opts.signal.reason;
    if (d.code !== 0) throw toolFailure(decompressor, tails[1]!.finish(), d.error ?? { exitCode: d.code });
    if (x.code !== 0) throw toolFailure(opts.command, tails[0]!.finish(), x.error ?? { exitCode: x.code });
  } finally {
    opts.signal.removeEventListener('abort', abort);
    await rm(opts.pidFile, { force: true });
  }
}

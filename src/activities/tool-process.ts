// Native tools as stream stages: a tool's stdin and stdout join Node stream pipelines, its exit
// code decides whether the stream it fed may end normally.
import { rm, writeFile } from 'node:fs/promises';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { execa } from 'execa';
import { followLines, toolFailure } from './tools.ts';

export interface ToolProcess {
  command: string;
  stdin: Writable | null;
  stdout: Readable | null;
  /** Resolves when the tool exits 0; rejects with a Temporal failure (or the abort reason) otherwise. */
  done: Promise<void>;
  /** Once `done` has rejected: why. */
  readonly failure: unknown;
}

export interface StartToolOptions {
  signal: AbortSignal;
  stdin?: 'pipe' | 'ignore';
  stdout?: 'pipe' | 'ignore';
  /** Written with the tool's pid, so a later attempt can kill it if this worker dies (see killOrphanedTool). */
  pidFile?: string;
}

/** Starts a tool whose stdin/stdout are streams; stderr is kept (last 30 lines) for the error message. */
export function startTool(command: string, args: string[], { signal, stdin = 'ignore', stdout = 'pipe', pidFile }: StartToolOptions): ToolProcess {
  const child = execa(command, args, {
    cancelSignal: signal,
    forceKillAfterDelay: 3000,
    stdin,
    stdout,
    stderr: 'pipe',
    buffer: false,
    env: { LC_ALL: 'C' },
  });
  const stderr = followLines(child.stderr);
  // A tool can fail before the pid file is written; mark the rejection handled now, await it below.
  child.catch(() => undefined);
  const recorded = pidFile && child.pid ? writeFile(pidFile, String(child.pid)) : Promise.resolve();
  const done = (async () => {
    try {
      await recorded;
      await child;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw toolFailure(command, stderr.finish(), error);
    } finally {
      if (pidFile) await rm(pidFile, { force: true });
    }
  })();
  let failure: unknown;
  done.catch((error: unknown) => (failure = error)); // also: never an unhandled rejection
  return {
    command, stdin: child.stdin, stdout: child.stdout, done,
    get failure() {
      return failure;
    },
  };
}

/**
 * A pass-through whose end waits for the tools to exit: when one fails, the stream errors instead
 * of ending, so an upload reading it aborts rather than storing a truncated backup as complete.
 */
export function endWhenToolsSucceed(tools: ToolProcess[]): PassThrough {
  return new PassThrough({
    flush(callback) {
      Promise.all(tools.map((t) => t.done)).then(() => callback(), (error: Error) => callback(error));
    },
  });
}

/**
 * Why a pipeline of tools failed, as the tools tell it: waits up to `waitMs` for them to exit on
 * their own (a broken pipe reaches them within milliseconds), then returns the first failure.
 */
export async function toolsFailure(tools: ToolProcess[], waitMs = 5000): Promise<unknown> {
  const timeout = new Promise((resolve) => setTimeout(resolve, waitMs).unref());
  await Promise.race([Promise.allSettled(tools.map((t) => t.done)), timeout]);
  return tools.find((t) => t.failure !== undefined)?.failure;
}

/** The first line a tool prints for `--version`, e.g. `mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, …`. */
export async function toolVersion(command: string): Promise<string> {
  const { stdout, stderr } = await execa(command, ['--version'], { env: { LC_ALL: 'C' }, reject: false });
  return (stdout || stderr).split('\n')[0]!.replace(/\s+/g, ' ').trim() || 'unknown';
}

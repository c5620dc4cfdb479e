// Native tools as stream stages: a tool's stdin and stdout join Node stream pipelines, its exit
// code decides whether the stream it fed may end normally.
import { spawn, type ChildProcess } from 'node:child_process';
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
export function startTool(
  command: string,
  args: string[],
  { signal, stdin = 'ignore', stdout = 'pipe', pidFile }: StartToolOptions,
): ToolProcess {
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
    command,
    stdin: child.stdin,
    stdout: child.stdout,
    done,
    get failure() {
      return failure;
    },
  };
}

export interface PipedStage {
  command: string;
  args: string[];
  /** Every stderr line as it comes; returning false leaves it out of the tail kept for errors (progress lines). */
  onStderrLine?: (line: string) => boolean | void;
  /** Written with the tool's pid while it runs, so a later attempt can kill it if this worker dies (see killOrphanedTool). */
  pidFile?: string;
}

/**
 * Starts `a | b | …` without a shell: each tool's stdout pipe is handed to the next one as its
 * stdin, so the bytes flow between the tools in the kernel and never through Node (measured: half
 * the worker's CPU for `tar | zstd` of a 408 MB dump). Only the last tool's stdout comes to Node.
 * Cancelling `signal` sends SIGTERM to every tool, then SIGKILL after 3 s.
 */
export function startPipedTools(stages: PipedStage[], { signal }: { signal: AbortSignal }): { tools: ToolProcess[]; stdout: Readable } {
  const tools: ToolProcess[] = [];
  let previous: ChildProcess | null = null;
  for (const { command, args, onStderrLine, pidFile } of stages) {
    const child: ChildProcess = spawn(command, args, { stdio: [previous?.stdout ?? 'ignore', 'pipe', 'pipe'], env: { LC_ALL: 'C' } });
    const recorded = pidFile && child.pid ? writeFile(pidFile, String(child.pid)).catch(() => undefined) : Promise.resolve();
    // The pipe's read end now belongs to this child: close the worker's copy so nothing here reads it.
    previous?.stdout?.destroy();
    const stderr = followLines(child.stderr, onStderrLine);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    });
    const kill = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    };
    if (signal.aborted) kill();
    else signal.addEventListener('abort', kill, { once: true });
    // Its last words arrive on stderr after 'exit' may have fired: read them before judging.
    const stderrClosed = new Promise<void>((resolve) => {
      child.stderr!.once('close', resolve);
      setTimeout(resolve, 1000).unref();
    });
    const done = exited.then(async ({ code, signal: sig, error }) => {
      signal.removeEventListener('abort', kill);
      if (pidFile) await recorded.then(() => rm(pidFile, { force: true }));
      if (code !== 0) await stderrClosed;
      if (code === 0) return;
      if (signal.aborted) throw signal.reason;
      throw toolFailure(
        command,
        stderr.finish(),
        error ?? Object.assign(new Error(`${command} ${sig ? `killed by ${sig}` : `exited with ${code}`}`), { exitCode: code ?? sig }),
      );
    });
    let failure: unknown;
    done.catch((error: unknown) => (failure = error));
    tools.push({
      command,
      stdin: null,
      stdout: null,
      done,
      get failure() {
        return failure;
      },
    });
    previous = child;
  }
  return { tools, stdout: previous!.stdout! };
}

/**
 * A pass-through whose end waits for the tools to exit: when one fails, the stream errors instead
 * of ending, so an upload reading it aborts rather than storing a truncated backup as complete.
 */
export function endWhenToolsSucceed(tools: ToolProcess[]): PassThrough {
  return new PassThrough({
    flush(callback) {
      Promise.all(tools.map((t) => t.done)).then(
        () => callback(),
        (error: Error) => callback(error),
      );
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

// The one way dbferry runs a native tool: no shell, no secrets in its environment (credentials
// reach it only through a 0600 defaults file), its output followed line by line, a pid file while
// it runs (the next attempt kills an orphan), and the activity's AbortSignal: SIGTERM, then SIGKILL.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { recordPid } from './orphans.ts';
import { followLines, toolFailure, type LineHandler } from './tool-output.ts';

export interface ToolProcess {
  command: string;
  stdin: Writable | null;
  stdout: Readable | null;
  /** Resolves when the tool exits 0; rejects with a Temporal failure (or the abort reason) otherwise. */
  done: Promise<void>;
  /** Once `done` has rejected: why. */
  readonly failure: unknown;
  /** The last lines the tool printed (progress lines left out), complete once `done` settles. */
  readonly tail: string[];
}

export interface StartToolOptions {
  signal: AbortSignal;
  /** 'pipe': Node writes it. A file descriptor or another tool's stdout: the kernel feeds it, Node never sees the bytes. */
  stdin?: 'pipe' | 'ignore' | number | Readable;
  /** 'pipe': a stream for Node. 'lines': the tool logs there (mydumper, myloader), followed like stderr. */
  stdout?: 'pipe' | 'ignore' | 'lines';
  /** Written with the tool's pid while it runs, so a later attempt can kill it if this worker dies (killOrphanedTool). */
  pidFile?: string;
  /** Every output line as it comes (see LineHandler). */
  onLine?: LineHandler;
}

/** How long a cancelled tool has between SIGTERM and SIGKILL. */
const KILL_AFTER_MS = 3000;
/** How long its last words on stderr may trail its exit. */
const OUTPUT_GRACE_MS = 1000;

// Tools get the locale and the search path, never the worker's secrets (S3 keys, webhook secret,
// the variables passwords are read from): credentials reach them only through the defaults file.
const toolEnvironment = (): NodeJS.ProcessEnv => ({
  LC_ALL: 'C',
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
});

/** Starts a tool; see StartToolOptions for how its input, output, pid and cancellation are handled. */
export function startTool(command: string, args: string[], options: StartToolOptions): ToolProcess {
  const { signal, stdin = 'ignore', stdout = 'pipe', pidFile, onLine } = options;
  const child = spawn(command, args, { stdio: [stdin, stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'], env: toolEnvironment() });
  // A pipe's read end handed to this tool now belongs to it: close the worker's copy.
  if (typeof stdin === 'object') stdin.destroy();
  const output = followLines(stdout === 'lines' ? [child.stdout, child.stderr] : child.stderr, onLine);
  // Whether it was cancelled is decided when it exits: a tool that finished first has finished.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error; aborted: boolean }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error, aborted: signal.aborted }));
    child.once('exit', (code, sig) => resolve({ code, signal: sig, aborted: signal.aborted }));
  });
  const kill = (): void => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS).unref();
  };
  if (signal.aborted) kill();
  else signal.addEventListener('abort', kill, { once: true });
  // Without its pid on disk a crash would leave an orphan no retry can find: such a tool does not run.
  const recorded = pidFile && child.pid ? recordPid(pidFile, child.pid).catch((error: unknown) => (kill(), error)) : null;
  const followed = [child.stderr, stdout === 'lines' ? child.stdout : null].filter((s) => s !== null);
  const outputClosed = Promise.all(followed.map((s) => new Promise((resolve) => s.once('close', resolve))));

  const done = (async () => {
    const exit = await exited;
    signal.removeEventListener('abort', kill);
    const unrecorded = await recorded;
    if (pidFile && recorded) await rm(pidFile, { force: true });
    await Promise.race([outputClosed, new Promise((resolve) => setTimeout(resolve, OUTPUT_GRACE_MS).unref())]);
    output.finish();
    if (exit.aborted) throw signal.reason;
    if (unrecorded instanceof Error) throw new Error(`${command}: could not write its pid file ${pidFile}: ${unrecorded.message}`);
    if (exit.code === 0) return;
    const why = exit.error ?? new Error(`${command} ${exit.signal ? `killed by ${exit.signal}` : `exited with ${exit.code}`}`);
    throw toolFailure(command, output.tail, Object.assign(why, exit.error ? {} : { exitCode: exit.code ?? exit.signal ?? undefined }));
  })();
  let failure: unknown;
  done.catch((error: unknown) => (failure = error)); // also: never an unhandled rejection
  return {
    command,
    stdin: child.stdin,
    stdout: stdout === 'pipe' ? child.stdout : null,
    done,
    get failure() {
      return failure;
    },
    tail: output.tail,
  };
}

export interface ToolRun {
  command: string;
  args: string[];
  pidFile?: string;
  signal: AbortSignal;
  onLine?: LineHandler;
}

/** Runs a tool to completion (a dump, a load, a prepare) reading all its output as lines; returns its last lines. */
export async function runTool({ command, args, pidFile, signal, onLine }: ToolRun): Promise<string[]> {
  const tool = startTool(command, args, { signal, pidFile, onLine, stdout: 'lines' });
  await tool.done;
  return tool.tail;
}

export interface PipedStage {
  command: string;
  args: string[];
  /** Every stderr line as it comes; returning false leaves it out of the tail kept for errors (progress lines). */
  onStderrLine?: LineHandler;
  /** Written with the tool's pid while it runs (see StartToolOptions). */
  pidFile?: string;
}

/**
 * Starts `a | b | …` without a shell: each tool's stdout pipe is handed to the next one as its
 * stdin, so the bytes flow between the tools in the kernel and never through Node (measured: half
 * the worker's CPU for `tar | zstd` of a 408 MB dump). Only the last tool's stdout comes to Node;
 * `stdin` may give the first one a file descriptor to read.
 */
export function startPipedTools(
  stages: PipedStage[],
  { signal, stdin }: { signal: AbortSignal; stdin?: number },
): { tools: ToolProcess[]; stdout: Readable } {
  const tools: ToolProcess[] = [];
  let previous: Readable | null = null;
  for (const { command, args, onStderrLine, pidFile } of stages) {
    const tool = startTool(command, args, { signal, stdin: previous ?? stdin ?? 'ignore', stdout: 'pipe', pidFile, onLine: onStderrLine });
    previous = tool.stdout;
    // Its pipes belong to the tools beside it: the caller gets the exit, not the streams.
    tools.push({
      command,
      stdin: null,
      stdout: null,
      done: tool.done,
      tail: tool.tail,
      get failure() {
        return tool.failure;
      },
    });
  }
  return { tools, stdout: previous! };
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

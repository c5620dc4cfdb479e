// A worker on its own task queue that runs the real workflow bundle with scripted activities,
// against the test run's Temporal dev server: the kit's behaviour in seconds, without tools or MySQL.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Context } from '@temporalio/activity';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { workflowBundlePath } from '../../../src/bundle/workflow-bundle.ts';

type ActivityFn = (input: never) => Promise<unknown>;
export type Script = Record<string, ActivityFn>;

export interface MockedWorker {
  taskQueue: string;
  client: Client;
  /** Every activity call, in order, since the last `script()`. */
  calls: string[];
  /** Sets what each activity does (unscripted ones do what `defaults` says, else resolve undefined). */
  script(overrides?: Script): void;
  start(workflowType: string, input: unknown): Promise<WorkflowHandle>;
  stop(): Promise<void>;
}

/** Starts the worker; `names` are the activities the workflows under test call. */
export async function startMockedWorker(names: string[], defaults: Script): Promise<MockedWorker> {
  // The scripted failures are the point of these tests: keep the worker's warnings about them out of the output.
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed already in this test process
  }
  const address = inject('temporalAddress');
  const taskQueue = `kit-${randomUUID()}`;
  const calls: string[] = [];
  let current: Script = {};
  // Every run checks its user's permissions first (authorizeRun): allowed, and not among the calls, unless a test scripts it.
  const activities = Object.fromEntries(
    [...new Set([...names, 'authorizeRun'])].map((name) => [
      name,
      async (input: never) => {
        const fn = current[name] ?? defaults[name];
        if (name !== 'authorizeRun' || fn) calls.push(name);
        return fn ? fn(input) : undefined;
      },
    ]),
  );
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: await workflowBundlePath() },
    activities,
    // Cancellation reaches an activity with a heartbeat's answer: let it through at once.
    maxHeartbeatThrottleInterval: '50 milliseconds',
    defaultHeartbeatThrottleInterval: '50 milliseconds',
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection });
  return {
    taskQueue,
    client,
    calls,
    script(overrides = {}) {
      current = overrides;
      calls.length = 0;
    },
    start(workflowType, input) {
      return client.workflow.start(workflowType, { taskQueue, workflowId: `${workflowType}-${randomUUID()}`, args: [input] });
    },
    async stop() {
      worker.shutdown();
      await running;
      await clientConnection.close();
      await connection.close();
    },
  };
}

/** An activity that heartbeats until it is cancelled, then reports the cancel, or dies the way a piped tool does. */
export function untilCancelled(then: 'cancel' | 'epipe', started?: () => void): ActivityFn {
  return async () => {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), 20);
    started?.();
    try {
      await ctx.cancelled;
    } catch (cancel) {
      if (then === 'epipe') throw new Error('write EPIPE');
      throw cancel;
    } finally {
      clearInterval(beat);
    }
  };
}

/** A promise and its resolver, for an activity that tells the test it is running. */
export function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The run's state as the API reads it: from the memo, without a worker. */
export async function memoState<S>(handle: WorkflowHandle): Promise<S> {
  return (await handle.describe()).memo?.state as S;
}

/** Polls until `check` returns a value (not undefined), for at most `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

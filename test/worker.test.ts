// The worker's concurrency comes from the config (`worker`), with defaults sized to the tools.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { workerConcurrency } from '../src/worker.ts';

const base = { connections: { local: { host: '127.0.0.1', user: 'root', allowWrite: true } }, control: { connection: 'local' } };

describe('the worker concurrency', () => {
  it('defaults to 16 activities and 40 workflow tasks at once, not the SDK’s 100 activities', () => {
    expect(workerConcurrency(parseConfig(JSON.stringify(base)))).toEqual({
      maxConcurrentActivityTaskExecutions: 16,
      maxConcurrentWorkflowTaskExecutions: 40,
    });
  });

  it('takes the config’s numbers, and refuses nonsense naming the field', () => {
    const config = parseConfig(JSON.stringify({ ...base, worker: { maxConcurrentActivities: 4, maxConcurrentWorkflowTasks: 10 } }));
    expect(workerConcurrency(config)).toEqual({ maxConcurrentActivityTaskExecutions: 4, maxConcurrentWorkflowTaskExecutions: 10 });
    expect(() => parseConfig(JSON.stringify({ ...base, worker: { maxConcurrentActivities: 0 } }))).toThrow(
      /worker\.maxConcurrentActivities/,
    );
    expect(() => parseConfig(JSON.stringify({ ...base, worker: { threads: 4 } }))).toThrow(/worker/);
  });
});

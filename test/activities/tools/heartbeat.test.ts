// The one heartbeat helper and the progress reporter built on it, in a mocked activity context.
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { keepHeartbeating, whileHeartbeating } from '../../../src/activities/tools/heartbeat.ts';
import { progressReporter } from '../../../src/activities/tools/progress.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A mocked activity context that records its heartbeats and the signals sent to its workflow. */
function recordingEnvironment() {
  const beats: unknown[] = [];
  const signals: Array<{ workflowId: string; name: string; arg: unknown }> = [];
  const client = {
    withAbortSignal: <R>(_signal: AbortSignal, fn: () => Promise<R>) => fn(),
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: async (definition: { name: string }, arg: unknown) => void signals.push({ workflowId, name: definition.name, arg }),
      }),
    },
  } as unknown as Client;
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'run-1', runId: 'r' } }, { client });
  env.on('heartbeat', (details: unknown) => beats.push(details));
  return { env, beats, signals };
}

describe('keepHeartbeating', () => {
  it('beats at once and every interval until stopped, reading its details at each beat', async () => {
    const { env, beats } = recordingEnvironment();
    let step = 0;
    await env.run(async () => {
      const beating = keepHeartbeating(() => ({ step: step++ }), 50);
      await sleep(230);
      beating.stop();
    });
    const count = beats.length;
    expect(count).toBeGreaterThanOrEqual(4);
    expect(count).toBeLessThanOrEqual(6);
    expect(beats.slice(0, 3)).toEqual([{ step: 0 }, { step: 1 }, { step: 2 }]);
    await sleep(150);
    expect(beats.length).toBe(count);
  });
});

describe('whileHeartbeating', () => {
  it('beats while the work runs and stops when it fails, passing the failure on', async () => {
    const { env, beats } = recordingEnvironment();
    await expect(
      env.run(() =>
        whileHeartbeating(
          async () => {
            await sleep(120);
            throw new Error('tool failed');
          },
          undefined,
          30,
        ),
      ),
    ).rejects.toThrow('tool failed');
    const count = beats.length;
    expect(count).toBeGreaterThanOrEqual(3);
    await sleep(100);
    expect(beats.length).toBe(count);
  });
});

describe('progressReporter', () => {
  it('heartbeats every report and signals runProgress to the calling run at most once per 2 s', async () => {
    const { env, beats, signals } = recordingEnvironment();
    await env.run(async () => {
      const report = progressReporter('dumping');
      report(0.1);
      report(0.5);
      report(7);
    });
    expect(beats).toEqual([
      { phase: 'dumping', fraction: 0.1 },
      { phase: 'dumping', fraction: 0.5 },
      { phase: 'dumping', fraction: 1 },
    ]);
    expect(signals).toEqual([{ workflowId: 'run-1', name: 'runProgress', arg: { phase: 'dumping', fraction: 0.1 } }]);
  });

  it('samples progress while the work runs, a sample that is a promise being reported at the next beat', async () => {
    const { env, beats } = recordingEnvironment();
    let bytes = 0;
    const result = await env.run(async () => {
      const report = progressReporter('loading');
      return report.whileSampling(
        async () => {
          for (; bytes < 6; bytes++) await sleep(400);
          return 'loaded';
        },
        async () => bytes / 6,
      );
    });
    expect(result).toBe('loaded');
    const fractions = beats.map((b) => (b as { fraction: number }).fraction);
    expect(fractions[0]).toBe(0);
    expect(fractions).toEqual([...fractions].sort());
    // Beats at 0, 1 and 2 s: the last one reports what the 1 s sample (2 of 6 done) found.
    expect(fractions.length).toBeGreaterThanOrEqual(3);
    expect(fractions.at(-1)).toBeGreaterThan(0.2);
    expect(beats.every((b) => (b as { phase: string }).phase === 'loading')).toBe(true);
  });
});

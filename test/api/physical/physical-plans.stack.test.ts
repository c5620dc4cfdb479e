import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPhysicalManifests } from '../../../src/activities/catalog/physical-manifests.ts';
import { randomUUID } from 'node:crypto';
import {
  physicalBackupWorkflowId,
  type PhysicalBackupManifest,
  type PhysicalBackupState,
  type PhysicalBackupWorkflowInput,
} from '../../../src/workflows/physical/contracts.ts';
import { runSearchAttributes } from '../../../src/shared/temporal.ts';
import type { physicalBackup } from '../../../src/workflows/physical/physical-backup.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';

describe('physical backup plans', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Polls the target's physical manifests until `done` holds. */
  async function manifestsWhen(done: (m: PhysicalBackupManifest[]) => boolean, timeoutMs = 240_000): Promise<PhysicalBackupManifest[]> {
    for (const deadline = Date.now() + timeoutMs; ;) {
      const { manifests } = await listPhysicalManifests(stack.targets.files.store, 'physical-local/');
      if (done(manifests)) return manifests;
      if (Date.now() > deadline) throw new Error(`target holds ${manifests.map((m) => `${m.kind}:${m.id}`).join(', ') || 'nothing'}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Triggers one of the plan's schedules and waits until that run has finished (retention included). */
  async function runOnce(planId: string, kind: 'physical-full' | 'physical-incremental'): Promise<void> {
    const handle = stack.temporal.schedule.getHandle(`${planId}:${kind === 'physical-full' ? 'full' : 'incremental'}`);
    const before = (await handle.describe()).info.recentActions.length;
    await stack.alice.client.backups.triggerPhysicalPlan.mutate({ name: 'nightly', kind });
    for (const deadline = Date.now() + 60_000; ;) {
      const actions = (await handle.describe()).info.recentActions;
      if (actions.length > before) {
        const { workflowId, firstExecutionRunId } = actions.at(-1)!.action.workflow;
        await stack.temporal.workflow.getHandle(workflowId, firstExecutionRunId).result();
        return;
      }
      if (Date.now() > deadline) throw new Error(`schedule ${kind} never ran`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('runs fulls and incrementals on their own schedules, and retention keeps the full a kept incremental needs', async () => {
    const client = stack.alice.client;
    const plan = await client.backups.createPhysicalPlan.mutate({
      name: 'nightly',
      connection: 'local',
      target: 'files',
      fullCron: '0 3 * * 0',
      incrementalCron: '0 3 * * 1-6',
      retention: { keepLast: 1 },
    });
    expect(plan.schedules.map((s) => s.kind)).toEqual(['physical-full', 'physical-incremental']);
    expect(plan.schedules.every((s) => s.nextRuns.length > 0)).toBe(true);

    await runOnce(plan.planId, 'physical-full');
    const [full] = await manifestsWhen((m) => m.length === 1);
    expect(full).toMatchObject({ kind: 'physical-full', scheduleId: plan.planId });

    // keepLast 1 keeps only the incremental by date, and so its full with it.
    await runOnce(plan.planId, 'physical-incremental');
    const chain = await manifestsWhen((m) => m.length === 2);
    const incremental = chain.find((m) => m.kind === 'physical-incremental')!;
    expect(incremental).toMatchObject({ parentId: full!.id, chainId: full!.id, scheduleId: plan.planId });

    // A new full starts a new chain: the old chain is no longer needed by anything kept.
    await runOnce(plan.planId, 'physical-full');
    const after = await manifestsWhen((m) => m.length === 1 && m[0]!.id !== full!.id);
    expect(after[0]).toMatchObject({ kind: 'physical-full', parentId: null });
    const keys: string[] = [];
    for await (const o of stack.targets.files.store.list('physical-local/')) keys.push(o.key);
    expect(keys.sort()).toEqual([after[0]!.key, `${after[0]!.key}.manifest.json`].sort());

    await client.backups.deletePhysicalPlan.mutate({ name: 'nightly' });
    await expect(client.backups.getPhysicalPlan.query({ name: 'nightly' })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
  });

  it('lets only one physical backup of a server run when two start under different workflow ids (scheduled runs)', async () => {
    const start = (suffix: string) => {
      const input: PhysicalBackupWorkflowInput = {
        backupId: randomUUID(),
        connection: 'local',
        target: 'files',
        kind: 'physical-full',
        compression: 'zstd',
        threads: 2,
        parentId: null,
        requestedBy: 'test',
        callbackUrl: null,
        scheduleId: null,
        retention: null,
      };
      return stack.temporal.workflow.start<typeof physicalBackup>('physicalBackup', {
        taskQueue: stack.config.taskQueue,
        workflowId: `${physicalBackupWorkflowId('local')}-${suffix}`,
        args: [input],
        typedSearchAttributes: runSearchAttributes({ kind: 'physical-backup', source: 'local', destination: 'files', requestedBy: 'test' }),
      });
    };
    const first = await start('a');
    await new Promise((r) => setTimeout(r, 300));
    const second = await start('b');
    const [a, b] = await Promise.allSettled([first.result(), second.result()]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect(((await second.describe()).memo?.state as PhysicalBackupState).lastError).toMatch(
      /another physical backup of local is running \(physical-backup:local-a\)/,
    );
  });
});

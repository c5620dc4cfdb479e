// Runs in flight when a new worker is deployed must still complete: histories saved from real runs
// of every workflow, made by the code before the workflow kit and since, replay without nondeterminism.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { workflowBundlePath } from '../../src/bundle/workflow-bundle.ts';
import { savedHistory } from './saved-history.ts';

const HISTORIES = fileURLToPath(new URL('./histories', import.meta.url));

/** `<workflowType>--<status>--<id>--<run>.json`, as test/harness/save-histories.ts names them. */
async function savedHistories() {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const [type, status] = file.split('--') as [string, string];
      const history = savedHistory(JSON.parse(await readFile(join(HISTORIES, file), 'utf8')));
      return { file, type, status, workflowId: file, history };
    }),
  );
}

describe('replaying runs made by the code before the workflow kit and since', () => {
  it('covers every workflow type, and succeeded, failed and cancelled runs', async () => {
    const saved = await savedHistories();
    expect(new Set(saved.map((h) => h.type))).toEqual(
      new Set([
        'copyDatabase',
        'backupDatabase',
        'restoreBackup',
        'physicalBackup',
        'restoreChain',
        'sanitizedPull',
        'sanitizedPullDryRun',
        'cleanupPullWorkspaces',
        'deliverWebhookWorkflow',
      ]),
    );
    for (const type of ['copyDatabase', 'backupDatabase', 'sanitizedPull']) {
      expect(new Set(saved.filter((h) => h.type === type).map((h) => h.status))).toEqual(new Set(['COMPLETED', 'FAILED', 'CANCELLED']));
    }
  });

  it('replays every saved history against the current workflow bundle without a nondeterminism error', async () => {
    const saved = await savedHistories();
    const codePath = await workflowBundlePath();
    const failures: Array<{ file: string; error: string }> = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath } }, saved)) {
      replayed++;
      if (result.error) failures.push({ file: result.workflowId, error: String(result.error) });
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(saved.length);
  });
});

// Saves the history of every closed workflow on the test server as JSON, one file per execution,
// so `test/workflows/replay.test.ts` can replay real runs against the current workflow code.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

export async function saveHistories(address: string, dir: string): Promise<number> {
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  await mkdir(dir, { recursive: true });
  let saved = 0;
  try {
    for await (const run of client.workflow.list({ query: 'ExecutionStatus != "Running"' })) {
      const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      const name = `${run.type}--${run.status.name}--${run.workflowId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80)}--${run.runId.slice(0, 8)}.json`;
      await writeFile(join(dir, name), historyToJSON(history));
      saved++;
    }
  } finally {
    await connection.close();
  }
  return saved;
}

// Saves the history of every closed workflow on the test server as JSON, one file per execution,
// so `test/workflows/replay.test.ts` can replay real runs against the current workflow code.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { findTemporalBinary } from '../../src/dev/temporal-server.ts';

const run = promisify(execFile);

export async function saveHistories(address: string, dir: string): Promise<number> {
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const temporal = findTemporalBinary();
  await mkdir(dir, { recursive: true });
  let saved = 0;
  try {
    for await (const execution of client.workflow.list({ query: 'ExecutionStatus != "Running"' })) {
      // The CLI's JSON is the format the SDKs' replayers read (historyFromJSON).
      const args = ['workflow', 'show', '--address', address, '-w', execution.workflowId, '-r', execution.runId, '--output', 'json'];
      const { stdout } = await run(temporal, args, { maxBuffer: 256 * 1024 * 1024 });
      const id = execution.workflowId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80);
      await writeFile(join(dir, `${execution.type}--${execution.status.name}--${id}--${execution.runId.slice(-12)}.json`), stdout);
      saved++;
    }
  } finally {
    await connection.close();
  }
  return saved;
}

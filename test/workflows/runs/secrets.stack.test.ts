// A source password appears nowhere: histories, process list, API answers, webhooks, error messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../harness/webhook-receiver.ts';
import { GUARDED_PASSWORD, startTestStack, waitForCopy, type TestStack } from '../../harness/stack.ts';

/** Every string in a history, with payload bytes decoded as UTF-8: what a reader of the history could see. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return String(value);
}

describe('the source password', () => {
  let stack: TestStack;
  let receiver: WebhookReceiver;
  const source = uniqueDbName('secret_src');
  const destination = uniqueDbName('secret_dst');

  beforeAll(async () => {
    [stack, receiver] = await Promise.all([startTestStack(), startWebhookReceiver()]);
    await createBulkDatabase(source, 1_000_000);
  });
  afterAll(async () => {
    await dropDatabases(source, destination);
    await receiver?.close();
    await stack?.stop();
  });

  it('appears nowhere in the workflow histories, the process list, the API answers or the webhooks', async () => {
    const seen: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.push(...(await processCommandLines(/^my(dumper|loader)\0/)));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const { id } = await stack.alice.client.copies.start.mutate({
      source: { connection: 'guarded', database: source },
      destination: { connection: 'guarded', database: destination },
      callbackUrl: `${receiver.url}/hook`,
    });
    const view = await waitForCopy(stack.alice.client, id);
    watching = false;
    await watcher;
    expect(view.status).toBe('succeeded');

    // mydumper and myloader really ran, and their command lines name a defaults file, not a password.
    expect(seen.some((c) => c.startsWith('mydumper '))).toBe(true);
    expect(seen.some((c) => c.startsWith('myloader '))).toBe(true);
    for (const cmd of seen) {
      expect(cmd).not.toContain(GUARDED_PASSWORD);
      expect(cmd).toMatch(/--defaults-file /);
    }

    // Every history this copy produced: the copy workflow and its webhook deliveries.
    const run = (await stack.api.deps.runs.get(id))!;
    const histories = [await stack.temporal.workflow.getHandle(run.workflowId, run.runId!).fetchHistory()];
    for await (const wf of stack.temporal.workflow.list({ query: `WorkflowId STARTS_WITH "webhook:${id}"` })) {
      histories.push(await stack.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
    }
    expect(histories.length).toBeGreaterThan(1);
    const text = histories.map(historyText).join('\n');
    expect(text.length).toBeGreaterThan(1000);
    expect(text).toContain(source); // the search really looks at the payloads...
    expect(text).not.toContain(GUARDED_PASSWORD); // ...and the password is not among them
    expect(text).not.toContain(Buffer.from(GUARDED_PASSWORD).toString('base64'));

    const api = await stack.http(`/api/db-copies/${id}`, { token: stack.alice.token });
    expect(await api.text()).not.toContain(GUARDED_PASSWORD);
    for (const d of receiver.deliveries) expect(d.rawBody).not.toContain(GUARDED_PASSWORD);
    // The 0600 defaults files are gone once the tools are done.
    expect(await readdir(join(stack.config.workDir, '.secrets'))).toEqual([]);
  });

  it('is not echoed in the error when the connection is refused', async () => {
    process.env.DBFERRY_T_GUARDED_PASSWORD = `${GUARDED_PASSWORD}-wrong`;
    try {
      const { id } = await stack.alice.client.copies.start.mutate({
        source: { connection: 'guarded', database: source },
        destination: { connection: 'local', database: uniqueDbName('secret_never') },
      });
      const view = await waitForCopy(stack.alice.client, id);
      expect(view.status).toBe('failed');
      expect(view.lastError).toMatch(/Access denied/);
      expect(view.lastError).not.toContain(GUARDED_PASSWORD);
    } finally {
      process.env.DBFERRY_T_GUARDED_PASSWORD = GUARDED_PASSWORD;
    }
  });
});

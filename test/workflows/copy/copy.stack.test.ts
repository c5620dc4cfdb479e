// A copy end to end on real MariaDB: every kind of schema object and value, refusals, and webhooks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHardSchema } from '../../harness/hard-schema.ts';
import { expectSameDatabase } from '../../harness/compare.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../../harness/webhook-receiver.ts';
import { startTestStack, waitForCopy, WEBHOOK_SECRET, type TestStack } from '../../harness/stack.ts';

describe('copying a database end to end', () => {
  let stack: TestStack;
  let receiver: WebhookReceiver;
  const source = uniqueDbName('copy_src');
  const destination = uniqueDbName('copy_dst');

  beforeAll(async () => {
    [stack, receiver] = await Promise.all([startTestStack(), startWebhookReceiver()]);
    await createHardSchema(source);
  });
  afterAll(async () => {
    await dropDatabases(source, destination);
    await receiver?.close();
    await stack?.stop();
  });

  it('copies FK cycles, triggers, views, routines, events, BLOB, JSON, spatial, emoji, generated columns and zero dates identically', async () => {
    const progress: number[] = [];
    const res = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({
        source: { connection: 'local', database: source },
        destination: { connection: 'local', database: destination },
        threads: 4,
        recreateDestination: true,
        callback_url: `${receiver.url}/hook`,
      }),
    });
    expect(res.status).toBe(201);
    const started = (await res.json()) as { id: string; status: string };
    expect(started).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'queued' });

    // The tRPC subscription streams every change until the final status.
    const subscription = new Promise<void>((resolve, reject) => {
      const sub = stack.alice.client.copies.progress.subscribe(
        { id: started.id },
        {
          onData: (view) => {
            progress.push(view.progress);
            if (['succeeded', 'failed', 'cancelled'].includes(view.status)) {
              sub.unsubscribe();
              resolve();
            }
          },
          onError: reject,
        },
      );
    });
    const view = await waitForCopy(stack.alice.client, started.id);
    await subscription;
    expect(view.lastError).toBeNull();
    expect(view.status).toBe('succeeded');
    expect(view.progress).toBe(100);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(100);
    progress.forEach((p, i) => {
      expect(p).toBeLessThanOrEqual(100);
      if (i > 0) expect(p).toBeGreaterThanOrEqual(progress[i - 1]!);
    });

    await expectSameDatabase(source, destination);
    expect(view.tables.length).toBeGreaterThan(0);
    for (const t of view.tables) expect(t.destinationRows).toBe(t.sourceRows);
    expect(existsSync(join(stack.config.workDir, `copy-${started.id}`))).toBe(false);

    // Seed 000's GET response, every field.
    const get = await stack.http(`/api/db-copies/${started.id}`, { token: stack.alice.token });
    expect(get.status).toBe(200);
    const body = (await get.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: started.id,
      status: 'succeeded',
      progress: 100,
      source_connection: 'local',
      source_db: source,
      dest_connection: 'local',
      dest_db: destination,
      callback_url: `${receiver.url}/hook`,
      last_error: null,
      created_by_user_id: expect.any(Number),
    });
    for (const field of ['started_at', 'finished_at', 'created_at', 'updated_at']) {
      expect(new Date(body[field] as string).toISOString()).toBe(body[field]);
    }

    // Webhooks for `running` and the final status, each signed over the exact body.
    const running = await receiver.waitFor((d) => (d.json as { status?: string }).status === 'running', 30_000);
    const done = await receiver.waitFor((d) => (d.json as { status?: string }).status === 'succeeded', 30_000);
    for (const delivery of [running, done]) {
      const signature = String(delivery.headers['x-signature']);
      expect(signature).toMatch(/^[0-9a-f]{64}$/);
      expect(verifySignature(delivery.rawBody, signature, WEBHOOK_SECRET)).toBe(true);
      expect(verifySignature(delivery.rawBody, signature, 'a-wrong-secret-entirely')).toBe(false);
      expect(delivery.headers['x-dbferry-delivery']).toBe(`${started.id}:${(delivery.json as { status: string }).status}`);
      expect(Object.keys(delivery.json as object).sort()).toEqual(['error', 'finished_at', 'id', 'started_at', 'status']);
    }
    expect(done.json).toMatchObject({
      id: started.id,
      status: 'succeeded',
      error: null,
      started_at: body.started_at,
      finished_at: body.finished_at,
    });
  });

  it('refuses a destination that already has tables unless recreateDestination is set', async () => {
    const started = await stack.alice.client.copies.start.mutate({
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      recreateDestination: false,
    });
    const view = await waitForCopy(stack.alice.client, started.id);
    expect(view.status).toBe('failed');
    expect(view.lastError).toMatch(/already has tables.*recreateDestination/);
    // The existing copy was left alone.
    await expectSameDatabase(source, destination);
  });

  it('fails with a clear last_error when the source database does not exist, and creates nothing', async () => {
    const missing = uniqueDbName('missing');
    const target = uniqueDbName('never');
    const started = await stack.alice.client.copies.start.mutate({
      source: { connection: 'local', database: missing },
      destination: { connection: 'local', database: target },
    });
    const view = await waitForCopy(stack.alice.client, started.id);
    expect(view.status).toBe('failed');
    expect(view.lastError).toBe(`source database "${missing}" does not exist on connection "local"`);
    const conn = await rootConnection();
    const [rows] = await conn.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [target]);
    await conn.end();
    expect(rows).toEqual([]);
  });

  it('keeps delivering webhooks to a receiver that fails at first, without delaying the copy', async () => {
    const target = uniqueDbName('retry_dst');
    receiver.failNext(2, 503);
    const started = await stack.alice.client.copies.start.mutate({
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: target },
      callbackUrl: `${receiver.url}/flaky`,
    });
    const view = await waitForCopy(stack.alice.client, started.id);
    expect(view.status).toBe('succeeded');
    const final = await receiver.waitFor(
      (d) => d.status === 200 && (d.json as { id?: string }).id === started.id && (d.json as { status?: string }).status === 'succeeded',
      60_000,
    );
    expect(verifySignature(final.rawBody, String(final.headers['x-signature']), WEBHOOK_SECRET)).toBe(true);
    const failed = receiver.deliveries.filter((d) => (d.json as { id?: string }).id === started.id && d.status === 503);
    expect(failed.length).toBe(2);
    await dropDatabases(target);
  });
});

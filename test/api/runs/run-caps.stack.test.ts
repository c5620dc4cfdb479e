// The run caps on the real stack: 20 copies started at the same moment by one user past a cap of 3
// (the excess 429 with Retry-After, no accepted one lost, room again once they end), the threads
// budget of a source server shared by two connections to it, and the per-source cap across users.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, waitForCopy, type TestStack, type TestUser } from '../../harness/stack.ts';
import type { RunLimits } from '../../../src/api/runs/caps.ts';

interface Answer {
  status: number;
  body: { id?: string; message?: string; field?: string | null };
  retryAfter: string | null;
  destination: string;
}

describe('run caps', () => {
  let stack: TestStack;
  const source = uniqueDbName('caps_src');
  const created: string[] = [source];

  beforeAll(async () => {
    stack = await startTestStack();
    // Big enough that a copy takes seconds: every burst below is answered while its accepted copies run.
    await createBulkDatabase(source, 300_000);
  });
  afterAll(async () => {
    await dropDatabases(...created);
    await stack?.stop();
  });

  /** The caps are read on every start: a test sets its own on the running API. */
  const setLimits = (limits: RunLimits) => Object.assign(stack.api.deps.config.limits, limits);

  async function startCopy(user: TestUser, over: { connection?: string; threads?: number } = {}): Promise<Answer> {
    const destination = uniqueDbName('caps_dst');
    created.push(destination);
    const res = await stack.http('/api/db-copies', {
      method: 'POST',
      token: user.token,
      body: JSON.stringify({
        source: { connection: over.connection ?? 'local', database: source },
        destination: { connection: 'local', database: destination },
        threads: over.threads ?? 1,
      }),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'], retryAfter: res.headers.get('retry-after'), destination };
  }

  async function existingSchemas(names: string[]): Promise<string[]> {
    const conn = await rootConnection();
    try {
      const [rows] = await conn.query('SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?)', [names]);
      return (rows as Array<{ s: string }>).map((r) => r.s);
    } finally {
      await conn.end();
    }
  }

  /** The most runs whose workflows were open at one instant, from Temporal's start and close times. */
  async function maxOverlap(ids: string[]): Promise<number> {
    const spans = await Promise.all(
      ids.map(async (id) => {
        const record = (await stack.api.deps.runs.get(id))!;
        const d = await stack.temporal.workflow.getHandle(record.workflowId, record.runId!).describe();
        return [d.startTime.getTime(), d.closeTime!.getTime()] as const;
      }),
    );
    return Math.max(...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start < e).length));
  }

  it('refuses the excess of 20 copies started at once past runsPerUser=3 with 429, loses none it accepted, and makes room when they end', async () => {
    setLimits({ runsPerUser: 3, runsPerSource: 100, threadsPerSourceServer: 1000 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => startCopy(stack.alice)));
    const accepted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    expect(accepted).toHaveLength(3);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.retryAfter).toBe('15');
      expect(r.body.field).toBeNull();
      expect(r.body.message).toMatch(/^alice already has 3 runs running \(limits\.runsPerUser is 3\)/);
    }

    // tRPC says the same while the three run.
    await expect(
      stack.alice.client.copies.start.mutate({
        source: { connection: 'local', database: source },
        destination: { connection: 'local', database: uniqueDbName('caps_trpc') },
      }),
    ).rejects.toMatchObject({
      data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 },
      message: expect.stringContaining('limits.runsPerUser'),
    });

    // Every accepted copy was started and succeeds; no refused one left a run or a database behind.
    const views = await Promise.all(accepted.map((a) => waitForCopy(stack.alice.client, a.body.id!)));
    expect(views.map((v) => v.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const userId = (await stack.api.deps.tokens.verify(stack.alice.token))!.id;
    expect((await stack.api.deps.runs.listOwned(userId, 'copy', 100)).map((r) => r.id).sort()).toEqual(
      accepted.map((a) => a.body.id).sort(),
    );
    expect((await existingSchemas(answers.map((a) => a.destination))).sort()).toEqual(accepted.map((a) => a.destination).sort());
    expect(await maxOverlap(accepted.map((a) => a.body.id!))).toBeLessThanOrEqual(3);

    // Ended runs stop counting (Temporal says they closed): the next burst gets three slots again.
    const again = await Promise.all(Array.from({ length: 4 }, () => startCopy(stack.alice)));
    expect(again.filter((a) => a.status === 201)).toHaveLength(3);
    expect(again.filter((a) => a.status === 429)).toHaveLength(1);
    const finished = await Promise.all(again.filter((a) => a.status === 201).map((a) => waitForCopy(stack.alice.client, a.body.id!)));
    expect(finished.every((v) => v.status === 'succeeded')).toBe(true);
    expect(await maxOverlap(again.filter((a) => a.status === 201).map((a) => a.body.id!))).toBeLessThanOrEqual(3);
  });

  it('holds the runs reading from one server, through any connection to it, to threadsPerSourceServer', async () => {
    setLimits({ runsPerUser: 10, runsPerSource: 10, threadsPerSourceServer: 6 });
    // More threads than the whole budget can never start: 400, not a 429 to retry.
    const oversized = await startCopy(stack.alice, { threads: 7 });
    expect(oversized.status).toBe(400);
    expect(oversized.body).toMatchObject({ field: 'threads', message: expect.stringContaining('limits.threadsPerSourceServer is 6') });

    // `local` and `readonly` reach the same server: 4 + 4 do not fit in 6, 4 + 2 do, whichever comes first.
    const answers = await Promise.all([
      startCopy(stack.alice, { connection: 'local', threads: 4 }),
      startCopy(stack.alice, { connection: 'readonly', threads: 4 }),
      startCopy(stack.bob, { connection: 'readonly', threads: 2 }),
    ]);
    const clients = new Map([
      [answers[0]!, stack.alice.client],
      [answers[1]!, stack.alice.client],
      [answers[2]!, stack.bob.client],
    ]);
    const accepted = answers.filter((a) => a.status === 201);
    const ended = await Promise.all(accepted.map((a) => waitForCopy(clients.get(a)!, a.body.id!)));
    expect(ended.map((v) => v.status)).toEqual(['succeeded', 'succeeded']);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.retryAfter).toBe('15');
    expect(refused[0]!.body.field).toBe('threads');
    // It saw the other 4 alone, or the other 4 and the 2.
    expect(refused[0]!.body.message).toMatch(
      /^threads: 4 threads would exceed the threads budget of the server of \w+: [46] of 6 are in use/,
    );
    expect(clients.get(refused[0]!)).toBe(stack.alice.client);
  });

  it('holds one source connection to runsPerSource across users', async () => {
    setLimits({ runsPerUser: 10, runsPerSource: 2, threadsPerSourceServer: 1000 });
    const answers = await Promise.all([
      startCopy(stack.alice, { connection: 'readonly' }),
      startCopy(stack.alice, { connection: 'readonly' }),
      startCopy(stack.bob, { connection: 'readonly' }),
    ]);
    // Another connection to the same server is another source.
    const other = await startCopy(stack.bob, { connection: 'local' });
    const users = new Map([
      [answers[0]!, stack.alice],
      [answers[1]!, stack.alice],
      [answers[2]!, stack.bob],
      [other, stack.bob],
    ]);
    const accepted = [...answers, other].filter((a) => a.status === 201);
    const ended = await Promise.all(accepted.map((a) => waitForCopy(users.get(a)!.client, a.body.id!)));
    expect(ended.map((v) => v.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(other.status).toBe(201);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.body).toMatchObject({
      field: 'source.connection',
      message:
        'source.connection: 2 runs are already reading from connection readonly (limits.runsPerSource is 2); wait for one to finish or cancel it',
    });
  });

  it('counts a start still in progress, and forgets one whose API died before it started a workflow', async () => {
    setLimits({ runsPerUser: 1, runsPerSource: 10, threadsPerSourceServer: 1000 });
    const userId = (await stack.api.deps.tokens.verify(stack.alice.token))!.id;
    const runs = `\`${stack.config.control.database}\`.runs`;
    const id = randomUUID();
    const conn = await rootConnection();
    try {
      // A claim without a Temporal run id, as an API leaves it between claim and start.
      await conn.query(
        `INSERT INTO ${runs} (id, kind, workflow_id, created_by_user_id, request, created_at)
         VALUES (?, 'copy', 'copy:local/t_caps_never_started', ?, '{}', UTC_TIMESTAMP(3))`,
        [id, userId],
      );
      const blocked = await startCopy(stack.alice);
      expect(blocked.status).toBe(429);
      expect(blocked.body.message).toContain('limits.runsPerUser is 1');
      // Minutes later, with no workflow carrying its id, it is a start that never happened.
      await conn.query(`UPDATE ${runs} SET created_at = created_at - INTERVAL 3 MINUTE WHERE id = ?`, [id]);
      const after = await startCopy(stack.alice);
      expect(after.status).toBe(201);
      expect((await waitForCopy(stack.alice.client, after.body.id!)).status).toBe('succeeded');
      const [rows] = await conn.query(`SELECT ended_at IS NOT NULL AS ended FROM ${runs} WHERE id = ?`, [id]);
      expect(rows).toEqual([{ ended: 1 }]);
    } finally {
      await conn.end();
    }
  });
});

// Sanitized pulls end to end: every rule type in SQL, deterministic fakes, the gate and the PII guard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../../harness/webhook-receiver.ts';
import { startTestStack, WEBHOOK_SECRET, type TestStack } from '../../harness/stack.ts';
import { SANITIZED_PASSWORD_HASH } from '../../../src/activities/pull/sanitize-sql.ts';
import {
  addProfile,
  checksums,
  createPeopleDatabase,
  peopleRules,
  PULL_SECRET_ENV,
  query,
  waitForPull,
  workspaces,
} from '../../harness/pull-fixtures.ts';

/** Every string in a history, with payload bytes decoded as UTF-8: what a reader of the history could see. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return String(value);
}

interface UserRow {
  id: number;
  email: string | null;
  name: string;
  phone: string | null;
  bio: string | null;
  password: string | null;
  address: string | null;
  nickname: string | null;
  api_note: string | null;
  login: string | null;
}

describe('a sanitized pull', () => {
  let stack: TestStack;
  let receiver: WebhookReceiver;
  const source = uniqueDbName('pull_src');
  const destination = uniqueDbName('pull_dst');
  const leakySource = uniqueDbName('pull_leak');
  const leakyDestination = uniqueDbName('pull_leak_dst');
  let original: UserRow[];

  beforeAll(async () => {
    [stack, receiver] = await Promise.all([startTestStack(), startWebhookReceiver()]);
    await createPeopleDatabase(source);
    original = await query<UserRow>(`SELECT * FROM \`${source}\`.users ORDER BY id`);
    addProfile(stack, 'people', {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      secretEnv: PULL_SECRET_ENV,
      sanitize: peopleRules,
      excludeTables: ['audit_log', 'telescope_entries'],
    });
  });
  afterAll(async () => {
    await dropDatabases(source, destination, leakySource, leakyDestination);
    await receiver?.close();
    await stack?.stop();
  });

  it('anonymizes every rule type in SQL, keeps excluded patterns, leaves the source untouched and drops its workspace', async () => {
    const before = await checksums(source);
    const started = await stack.alice.client.pulls.start.mutate({ profile: 'people', full: true, callbackUrl: `${receiver.url}/pull` });
    const view = await waitForPull(stack.alice.client, started.id);
    expect(view.lastError).toBeNull();
    expect(view.status).toBe('succeeded');
    expect(view.mode).toBe('full');
    expect(view.tables.map((t) => t.table).sort()).toEqual(['customers', 'users']);
    expect(view.rows).toBe(10);

    const pulled = await query<UserRow>(`SELECT * FROM \`${destination}\`.users ORDER BY id`);
    expect(pulled.map((u) => u.id)).toEqual(original.map((u) => u.id));
    for (const [i, u] of pulled.entries()) {
      const o = original[i]!;
      // email: fake unless excluded; NULL stays NULL
      if (o.email === null) expect(u.email).toBeNull();
      else if (o.email.endsWith('@ourcompany.com')) expect(u.email).toBe(o.email);
      else expect(u.email).toMatch(/^user_[0-9a-f]{20}@example\.test$/);
      expect(u.name).not.toBe(o.name);
      expect(u.name).toMatch(/^[A-Z][a-z]+ ([A-Z]\. )?[A-Z][a-z]+$/);
      if (o.phone === null) expect(u.phone).toBeNull();
      else expect(u.phone).toMatch(/^\+1-55[56]-\d{7}$/);
      // text keeps the length ('' stays '')
      if (o.bio === null) expect(u.bio).toBeNull();
      else {
        expect(u.bio!.length).toBe(o.bio.length);
        if (o.bio.length > 1) expect(u.bio).not.toBe(o.bio);
      }
      expect(u.password).toBe(o.password === null ? null : SANITIZED_PASSWORD_HASH);
      if (o.address === null) expect(u.address).toBeNull();
      else expect(u.address).toMatch(/^(Apt \d+, )?\d+ [A-Z][a-z]+ [A-Z][a-z]+, [A-Z][a-z]+$/);
      expect(u.nickname).toBeNull();
      expect(u.api_note).toBe('redacted');
      expect(u.login).toBe('user');
    }
    // No original value of a sanitized column is left anywhere in the destination.
    const flat = JSON.stringify(pulled);
    for (const o of original) {
      for (const v of [o.name, o.phone, o.address, o.nickname]) if (v && v.length > 4) expect(flat).not.toContain(v);
      if (o.email && !o.email.endsWith('@ourcompany.com')) expect(flat).not.toContain(o.email);
    }

    // Deterministic: equal inputs give equal fakes across tables (emails compared case-insensitively).
    const customers = await query<{ id: number; email: string }>(`SELECT id, email FROM \`${destination}\`.customers ORDER BY id`);
    const alice = pulled.find((u) => u.id === 1)!.email;
    const frank = pulled.find((u) => u.id === 6)!.email;
    expect(customers.map((c) => c.email)).toEqual([alice, frank, alice, expect.stringMatching(/@example\.test$/)]);
    expect(customers[3]!.email).not.toBe(alice);

    // Excluded tables are not pulled; the source is unchanged; the workspace is gone.
    expect(
      await query(`SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'audit_log'`, [destination]),
    ).toEqual([]);
    expect(await checksums(source)).toEqual(before);
    expect(view.workspace).toMatch(/^_dbferry_tmp_\d+_[a-z0-9]+$/);
    expect(await workspaces()).not.toContain(view.workspace);
    expect(existsSync(join(stack.config.workDir, `pull-${started.id}`))).toBe(false);

    // The completion webhook (seed 002's SyncCompleted) is signed and carries tables and rows.
    const done = await receiver.waitFor(
      (d) => (d.json as { id?: string; status?: string }).id === started.id && (d.json as { status?: string }).status === 'succeeded',
      30_000,
    );
    expect(verifySignature(done.rawBody, String(done.headers['x-signature']), WEBHOOK_SECRET)).toBe(true);
    expect(done.json).toMatchObject({ id: started.id, status: 'succeeded', profile: 'people', mode: 'full', rows_synced: 10, error: null });
    expect((done.json as { tables: string[] }).tables.sort()).toEqual(['customers', 'users']);

    // The deterministic secret reaches the worker through its environment only: never Temporal.
    const run = (await stack.api.deps.runs.get(started.id))!;
    const events = await stack.temporal.workflow.getHandle(run.workflowId, run.runId!).fetchHistory();
    // Payload bytes decoded, so the search sees every input, result, heartbeat and failure as text.
    const history = historyText(events);
    expect(history).toContain('"profile":"people"');
    expect(history).toContain('applySanitizationRules');
    expect(history).not.toContain(process.env[PULL_SECRET_ENV]!);
  });

  it('gives the same deterministic fakes on a second run, and fresh random ones', async () => {
    const first = await query<UserRow>(`SELECT * FROM \`${destination}\`.users ORDER BY id`);
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'people', full: true });
    expect((await waitForPull(stack.alice.client, id)).status).toBe('succeeded');
    const second = await query<UserRow>(`SELECT * FROM \`${destination}\`.users ORDER BY id`);
    expect(second.map((u) => u.email)).toEqual(first.map((u) => u.email));
    expect(second.map((u) => u.phone)).not.toEqual(first.map((u) => u.phone));
  });

  it('treats * as the only wildcard in exclude patterns: % and _ match themselves', async () => {
    addProfile(stack, 'literal', {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      sanitize: { ...peopleRules, customers: { email: { type: 'email', exclude: ['z_d@other.org', 'alice@gmail%', 'frank@*'] } } },
      secretEnv: PULL_SECRET_ENV,
      excludeTables: ['audit_log'],
    });
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'literal', full: true, tables: ['customers'] });
    expect((await waitForPull(stack.alice.client, id)).status).toBe('succeeded');
    const emails = (await query<{ email: string }>(`SELECT email FROM \`${destination}\`.customers ORDER BY id`)).map((c) => c.email);
    expect(emails[0]).toMatch(/@example\.test$/); // alice@gmail.com: 'alice@gmail%' is literal
    expect(emails[1]).toBe('frank@mail.net'); // kept by frank@*
    expect(emails[2]).toMatch(/@example\.test$/);
    expect(emails[3]).toMatch(/@example\.test$/); // zed@other.org: '_' is literal
  });

  it('fails at the gate when a rule would let originals through, and pulls nothing', async () => {
    await createPeopleDatabase(leakySource);
    // The login column holds a copy of the email, and the profile has no rule for it.
    await query(`UPDATE \`${leakySource}\`.users SET login = email`);
    const { login: _login, ...rules } = peopleRules.users;
    addProfile(stack, 'leaky', {
      source: { connection: 'local', database: leakySource },
      destination: { connection: 'local', database: leakyDestination },
      secretEnv: PULL_SECRET_ENV,
      sanitize: { users: rules, customers: peopleRules.customers },
      piiAllow: ['users.login'],
    });
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'leaky' });
    const view = await waitForPull(stack.alice.client, id);
    expect(view.status).toBe('failed');
    expect(view.lastError).toMatch(
      /^sanitization gate failed, nothing was pulled: users\.login holds original values of the sanitized column users\.email \(3 rows\)/,
    );
    expect(await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [leakyDestination])).toEqual([]);
    expect(await workspaces()).not.toContain(view.workspace);
  });

  it('stops at the PII guard, listing personal-looking columns without a rule', async () => {
    addProfile(stack, 'unguarded', {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: leakyDestination },
      sanitize: { users: { email: { type: 'email' } } },
    });
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'unguarded' });
    const view = await waitForPull(stack.alice.client, id);
    expect(view.status).toBe('failed');
    expect(view.lastError).toMatch(
      /columns that look like personal data have no rule: .*users\.name, users\.phone.*customers\.email|customers\.email.*users\.name/,
    );
    expect(view.workspace).toBeNull();
  });
});

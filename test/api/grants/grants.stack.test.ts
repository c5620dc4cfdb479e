// Pull grants on the real stack (issue 12, the grant model): the token shown once and only its hash
// stored, the lifecycle with who, when and why, admins only, inputs refused naming the field, the
// transfers list and stats, the expiry sweep's workflow, and an audit trail that never holds a secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TRPCClientError } from '@trpc/client';
import { GrantStore } from '../../../src/control/grants.ts';
import { TransferStore } from '../../../src/control/transfers.ts';
import { grantExpiryScheduleId } from '../../../src/api/grants/service.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import { addProfile, peopleRules, PULL_SECRET_ENV, query } from '../../harness/pull-fixtures.ts';

const run = promisify(execFile);
const SITE = 'https://93.184.215.14/receiver';
const PASSWORD = 'download-pass-never-leak-7f3a';

async function trpcError(promise: Promise<unknown>): Promise<{ message: string; code: string; httpStatus: number }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    const data = error.data as { code: string; httpStatus: number };
    return { message: error.message, code: data.code, httpStatus: data.httpStatus };
  }
  throw new Error('expected the call to be refused');
}

describe('pull grants', () => {
  let stack: TestStack;
  let grants: GrantStore;
  let transfers: TransferStore;
  const secrets: string[] = [PASSWORD];

  beforeAll(async () => {
    // Site URLs must pass the SSRF guard here: private networks are refused.
    stack = await startTestStack({ extraConfig: { webhooks: { allowPrivateNetworks: false } } });
    addProfile(stack, 'app', {
      source: { connection: 'local', database: 'grant_src' },
      destination: { connection: 'local', database: 'grant_dst' },
      secretEnv: PULL_SECRET_ENV,
      sanitize: peopleRules,
    });
    grants = new GrantStore(stack.api.deps.controlPool, stack.config.control.database);
    transfers = new TransferStore(stack.api.deps.controlPool, stack.config.control.database);
  });
  afterAll(async () => {
    await stack?.temporal.schedule
      .getHandle(grantExpiryScheduleId(stack.config.taskQueue))
      .delete()
      .catch(() => undefined);
    await stack?.stop();
  });

  const admin = () => stack.admin.client;

  it('creates a pending grant: the token is shown once, only its sha256 and a scrypt hash of the password are stored', async () => {
    const created = await admin().grants.create.mutate({
      name: 'backup-site',
      siteUrl: SITE,
      profile: 'app',
      approvalMode: 'per_table',
      autoApproveTables: ['users'],
      allowedTables: ['users', 'customers'],
      excludedTables: ['customers'],
      maxDownloads: 100,
      downloadPassword: PASSWORD,
      ipAllowlist: ['203.0.114.0/24', '2001:db8::/32', '198.51.100.7'],
      allowedHours: { start: '22:00', end: '06:00', timezone: 'Europe/Berlin' },
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    });
    secrets.push(created.token);
    const secret = created.token.replace(/^dbg_\d+_/, '');
    secrets.push(secret);
    expect(created.token).toMatch(new RegExp(`^dbg_${created.grant.id}_[A-Za-z0-9_-]{43}$`));
    expect(created.grant).toMatchObject({
      name: 'backup-site',
      status: 'pending',
      profile: 'app',
      approvalMode: 'per_table',
      maxRecordsPerRequest: 10_000,
      rateLimitPerMinute: 60,
      downloadsUsed: 0,
      hasDownloadPassword: true,
      createdBy: 'admin',
      allowedHours: { start: '22:00', end: '06:00', timezone: 'Europe/Berlin' },
    });

    const [row] = await query<{ token_hash: string; download_password_hash: string }>(
      `SELECT token_hash, download_password_hash FROM \`${stack.config.control.database}\`.\`grants\` WHERE name = 'backup-site'`,
    );
    expect(row!.token_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(row!.download_password_hash).toMatch(/^scrypt\$/);
    expect(row!.download_password_hash).not.toContain(PASSWORD);
    secrets.push(row!.token_hash, row!.download_password_hash);

    // Never again: get and list show neither the token nor a hash.
    const got = await admin().grants.get.query({ name: 'backup-site' });
    const listed = await admin().grants.list.query();
    for (const shown of [JSON.stringify(got), JSON.stringify(listed)]) {
      for (const s of secrets) expect(shown).not.toContain(s);
      expect(shown).not.toMatch(/hash/i);
    }
    // The token verifies against the stored hash; a wrong one does not.
    expect((await grants.verifyToken(created.token))?.grant.name).toBe('backup-site');
    expect(await grants.verifyToken(`${created.token.slice(0, -2)}xx`)).toBeNull();
    expect(await grants.verifyToken('dbg_1_nope')).toBeNull();

    // A second grant by that name is a 409.
    const again = await trpcError(admin().grants.create.mutate({ name: 'backup-site', siteUrl: SITE, profile: 'app' }));
    expect(again).toMatchObject({ httpStatus: 409 });
    expect(again.message).toMatch(/^name: /);
  });

  it('approves, suspends, reactivates and revokes, recording who, when and why', async () => {
    const approved = await admin().grants.approve.mutate({ name: 'backup-site' });
    expect(approved).toMatchObject({ status: 'active', approvedBy: 'admin' });
    expect(Date.parse(approved.approvedAt!)).toBeGreaterThan(Date.now() - 60_000);

    const suspended = await admin().grants.suspend.mutate({ name: 'backup-site', reason: 'security audit' });
    expect(suspended).toMatchObject({ status: 'suspended', suspendedBy: 'admin', suspendedReason: 'security audit' });
    expect(suspended.suspendedAt).not.toBeNull();

    const reactivated = await admin().grants.reactivate.mutate({ name: 'backup-site' });
    expect(reactivated).toMatchObject({ status: 'active', reactivatedBy: 'admin' });
    expect(reactivated.reactivatedAt).not.toBeNull();

    // Approving an active grant is a conflict naming its status.
    const twice = await trpcError(admin().grants.approve.mutate({ name: 'backup-site' }));
    expect(twice).toMatchObject({ httpStatus: 409 });
    expect(twice.message).toMatch(/is active; only a pending grant can be approved/);

    // A regenerated token replaces the old one at once.
    const before = (await grants.get('backup-site'))!;
    const regenerated = await admin().grants.regenerateToken.mutate({ name: 'backup-site' });
    secrets.push(regenerated.token, regenerated.token.replace(/^dbg_\d+_/, ''));
    expect(regenerated.token).toMatch(new RegExp(`^dbg_${before.id}_`));
    expect(await grants.verifyToken(secrets[1]!)).toBeNull();
    expect((await grants.verifyToken(regenerated.token))?.grant.status).toBe('active');

    const revoked = await admin().grants.revoke.mutate({ name: 'backup-site', reason: 'no longer needed' });
    expect(revoked).toMatchObject({ status: 'revoked', revokedBy: 'admin', revokedReason: 'no longer needed' });
    expect(revoked.revokedAt).not.toBeNull();
    expect((await trpcError(admin().grants.reactivate.mutate({ name: 'backup-site' }))).httpStatus).toBe(409);
    expect((await trpcError(admin().grants.regenerateToken.mutate({ name: 'backup-site' }))).httpStatus).toBe(409);
    // Suspending and revoking need a reason.
    const noReason = await trpcError(admin().grants.suspend.mutate({ name: 'backup-site' } as never));
    expect(noReason).toMatchObject({ httpStatus: 400 });
    expect(noReason.message).toMatch(/reason/);
    expect((await trpcError(admin().grants.get.query({ name: 'nope' }))).httpStatus).toBe(404);
  });

  it('updates limits, tables, hours, the allow-list and the password; clearing the password and the hours', async () => {
    await admin().grants.create.mutate({ name: 'mirror', siteUrl: SITE, profile: 'app' });
    const updated = await admin().grants.update.mutate({
      name: 'mirror',
      maxDownloads: 5,
      maxRecordsTotal: 1_000_000,
      maxRecordsPerRequest: 500,
      rateLimitPerMinute: 10,
      allowedTables: ['users'],
      ipAllowlist: ['10.0.0.0/8'],
      allowedHours: { start: '02:00', end: '05:00', timezone: 'UTC' },
      downloadPassword: PASSWORD,
    });
    expect(updated).toMatchObject({
      maxDownloads: 5,
      maxRecordsTotal: 1_000_000,
      maxRecordsPerRequest: 500,
      rateLimitPerMinute: 10,
      allowedTables: ['users'],
      ipAllowlist: ['10.0.0.0/8'],
      hasDownloadPassword: true,
    });
    const cleared = await admin().grants.update.mutate({ name: 'mirror', downloadPassword: null, allowedHours: null, maxDownloads: null });
    expect(cleared).toMatchObject({ hasDownloadPassword: false, allowedHours: null, maxDownloads: null, maxRecordsPerRequest: 500 });
  });

  it('refuses operators and viewers with 403, over tRPC and by the route table', async () => {
    for (const call of [
      () => stack.alice.client.grants.list.query(),
      () => stack.alice.client.grants.create.mutate({ name: 'sneaky', siteUrl: SITE, profile: 'app' }),
      () => stack.alice.client.transfers.list.query(),
      () => stack.alice.client.grants.stats.query(),
    ]) {
      const refused = await trpcError(call());
      expect(refused).toMatchObject({ httpStatus: 403, code: 'FORBIDDEN' });
      expect(refused.message).toMatch(/for admins; alice is an operator/);
    }
    expect(await grants.get('sneaky')).toBeNull();
  });

  it('refuses bad input with a 400 naming the field', async () => {
    const base = { name: 'bad', siteUrl: SITE, profile: 'app' };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ipAllowlist: ['10.0.0.1', '10.0.0.0/33'] }, /^ipAllowlist\.1: "10\.0\.0\.0\/33": the prefix length/],
      [{ ipAllowlist: ['intranet'] }, /^ipAllowlist\.0: "intranet" is not an IP address/],
      [
        { allowedHours: { start: '22:00', end: '06:00', timezone: 'Europe/Atlantis' } },
        /^allowedHours\.timezone: "Europe\/Atlantis" is not an IANA/,
      ],
      [{ allowedHours: { start: '25:00', end: '06:00' } }, /^allowedHours\.start: must be a time of day/],
      [{ profile: 'nope' }, /^profile: no pull profile named "nope" in the config \(there are app\)/],
      [{ siteUrl: 'https://127.0.0.1:8443/' }, /^siteUrl: host 127\.0\.0\.1 is on a loopback or private network/],
      [{ siteUrl: 'http://10.1.2.3/' }, /^siteUrl: host 10\.1\.2\.3 is on a loopback or private network/],
      [{ siteUrl: 'https://user:pw@93.184.215.14/' }, /^siteUrl: must not contain credentials/],
      [{ siteUrl: 'ftp://93.184.215.14/' }, /^siteUrl: must use http or https/],
      [{ approvalMode: 'whenever' }, /^approvalMode: /],
      [{ maxRecordsPerRequest: 0 }, /^maxRecordsPerRequest: /],
      [{ rateLimitPerMinute: -1 }, /^rateLimitPerMinute: /],
      [{ allowedTables: ['users; DROP TABLE x'] }, /^allowedTables\.0: may contain only letters/],
      [{ expiresAt: '2020-01-01T00:00:00Z' }, /^expiresAt: must be in the future/],
      [{ expiresAt: 'tomorrow' }, /^expiresAt: must be an ISO-8601/],
      [{ downloadPassword: 'short' }, /^downloadPassword: at least 8/],
      [{ dropEverything: true }, /^dropEverything: is not a known field/],
    ];
    const wrong: string[] = [];
    for (const [patch, message] of cases) {
      const refused = await trpcError(admin().grants.create.mutate({ ...base, ...patch } as never));
      if (refused.httpStatus !== 400 || !message.test(refused.message))
        wrong.push(`${JSON.stringify(patch)}: ${refused.httpStatus} ${refused.message}`);
    }
    expect(wrong).toEqual([]);
    expect(await grants.get('bad')).toBeNull();
    // The same checks on update.
    const update = await trpcError(admin().grants.update.mutate({ name: 'mirror', ipAllowlist: ['::1/200'] }));
    expect(update).toMatchObject({ httpStatus: 400 });
    expect(update.message).toMatch(/^ipAllowlist\.0: /);
    const site = await trpcError(admin().grants.update.mutate({ name: 'mirror', siteUrl: 'http://192.168.1.1/' }));
    expect(site.message).toMatch(/^siteUrl: /);
  });

  it('lists transfers with filters, gives stats per grant and per table, and approves or denies waiting ones', async () => {
    const mirror = (await grants.get('mirror'))!;
    const at = new Date();
    const made = [
      await transfers.create({
        direction: 'outgoing',
        grantId: mirror.id,
        grant: 'mirror',
        table: 'users',
        status: 'completed',
        records: 10,
        bytes: 1000,
        completedAt: at,
      }),
      await transfers.create({
        direction: 'outgoing',
        grantId: mirror.id,
        grant: 'mirror',
        table: 'users',
        status: 'completed',
        records: 5,
        bytes: 500,
        completedAt: at,
      }),
      await transfers.create({
        direction: 'outgoing',
        grantId: mirror.id,
        grant: 'mirror',
        table: 'orders',
        status: 'failed',
        error: 'boom',
      }),
      await transfers.create({
        direction: 'outgoing',
        grantId: mirror.id,
        grant: 'mirror',
        table: 'orders',
        status: 'pending_approval',
        requesterIp: '203.0.114.9',
        userAgent: 'Backfill/1.0',
      }),
      await transfers.create({
        direction: 'outgoing',
        grantId: mirror.id,
        grant: 'mirror',
        table: 'customers',
        status: 'pending_approval',
      }),
      await transfers.create({ direction: 'incoming', profile: 'remote-app', table: 'users', status: 'completed', records: 7, bytes: 70 }),
    ];
    expect((await admin().transfers.list.query({ grant: 'mirror' })).map((t) => t.id)).toEqual(
      made
        .slice(0, 5)
        .map((t) => t.id)
        .reverse(),
    );
    expect((await admin().transfers.list.query({ status: 'failed' })).map((t) => t.error)).toEqual(['boom']);
    expect((await admin().transfers.list.query({ direction: 'incoming' })).map((t) => t.profile)).toEqual(['remote-app']);
    expect((await admin().transfers.list.query({ grant: 'mirror', table: 'users' })).length).toBe(2);
    expect((await admin().transfers.list.query({ since: new Date(Date.now() + 3_600_000).toISOString() })).length).toBe(0);
    expect((await admin().transfers.list.query({ limit: 2 })).length).toBe(2);
    expect((await trpcError(admin().transfers.list.query({ grant: 'ghost' }))).message).toMatch(/^grant: no grant named "ghost"/);
    expect((await trpcError(admin().transfers.list.query({ status: 'done' } as never))).message).toMatch(/^status: /);

    const stats = await admin().grants.stats.query({ name: 'mirror' });
    expect(stats).toEqual({
      grant: 'mirror',
      totalTransfers: 5,
      completed: 2,
      failed: 1,
      records: 15,
      bytes: 1500,
      perTable: [{ table: 'users', transfers: 2, records: 15, bytes: 1500 }],
    });
    expect((await admin().grants.stats.query()).totalTransfers).toBe(6);

    const approved = await admin().transfers.approve.mutate({ id: made[3]!.id, reason: 'known receiver' });
    expect(approved).toMatchObject({
      status: 'approved',
      decidedBy: 'admin',
      decisionReason: 'known receiver',
      requesterIp: '203.0.114.9',
    });
    const denied = await admin().transfers.deny.mutate({ id: made[4]!.id, reason: 'customers stay here' });
    expect(denied).toMatchObject({ status: 'denied', decidedBy: 'admin', decisionReason: 'customers stay here' });
    expect(denied.decidedAt).not.toBeNull();
    expect((await trpcError(admin().transfers.approve.mutate({ id: made[0]!.id }))).message).toMatch(
      /is completed, not waiting for approval/,
    );
    expect((await trpcError(admin().transfers.deny.mutate({ id: made[3]!.id } as never))).message).toMatch(/^reason: /);
    expect((await trpcError(admin().transfers.approve.mutate({ id: 99_999_999 }))).httpStatus).toBe(404);
  });

  it('expires grants past their date or limits in the sweep workflow, and will not reactivate them until raised', async () => {
    // Creating a grant ensured the sweep's schedule.
    const schedule = await stack.temporal.schedule.getHandle(grantExpiryScheduleId(stack.config.taskQueue)).describe();
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'expireGrants', taskQueue: stack.config.taskQueue });

    await admin().grants.create.mutate({
      name: 'dated',
      siteUrl: SITE,
      profile: 'app',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    await admin().grants.approve.mutate({ name: 'dated' });
    await admin().grants.create.mutate({ name: 'used-up', siteUrl: SITE, profile: 'app', maxDownloads: 2 });
    await admin().grants.approve.mutate({ name: 'used-up' });
    const db = stack.config.control.database;
    await query(`UPDATE \`${db}\`.\`grants\` SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE WHERE name = 'dated'`);
    const usedUp = (await grants.get('used-up'))!;
    await grants.recordUse(usedUp.id, 10);
    await grants.recordUse(usedUp.id, 10);

    const expired = await stack.temporal.workflow.execute('expireGrants', {
      taskQueue: stack.config.taskQueue,
      workflowId: `grant-expiry-test-${Date.now()}`,
      args: [],
    });
    expect(expired).toEqual(
      expect.arrayContaining([
        { name: 'dated', reason: 'expiry date passed' },
        { name: 'used-up', reason: 'download limit reached' },
      ]),
    );
    expect(await admin().grants.get.query({ name: 'dated' })).toMatchObject({ status: 'expired', expiredReason: 'expiry date passed' });
    expect(await admin().grants.get.query({ name: 'used-up' })).toMatchObject({ status: 'expired', downloadsUsed: 2, recordsUsed: 20 });
    expect((await grants.get('mirror'))!.status).toBe('pending');

    const refused = await trpcError(admin().grants.reactivate.mutate({ name: 'used-up' }));
    expect(refused).toMatchObject({ httpStatus: 409 });
    expect(refused.message).toMatch(/past its limits \(download limit reached\)/);
    await admin().grants.update.mutate({ name: 'used-up', maxDownloads: 10 });
    expect(await admin().grants.reactivate.mutate({ name: 'used-up' })).toMatchObject({ status: 'active' });
  });

  it('deletes a grant; its transfers stay in the history under its name', async () => {
    expect(await admin().grants.delete.mutate({ name: 'mirror' })).toEqual({ deleted: 'mirror' });
    expect(await grants.get('mirror')).toBeNull();
    const kept = await transfers.list({ limit: 100, direction: 'outgoing' });
    expect(kept.filter((t) => t.grant === 'mirror').every((t) => t.grantId === null)).toBe(true);
    expect(kept.filter((t) => t.grant === 'mirror').length).toBe(5);
  });

  it('does the same from the CLI with an admin token: create prints the token once, lifecycle, lists, bad flags exit 2', async () => {
    const env = { ...process.env, DBFERRY_CONFIG: stack.configPath, DBFERRY_URL: stack.api.url, DBFERRY_TOKEN: stack.admin.token };
    const dbferry = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      run(process.execPath, ['bin/dbferry.js', ...args], { env: { ...env, ...extra } }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const created = await dbferry(
      [
        'grant',
        'create',
        'cli-site',
        '--site-url',
        SITE,
        '--profile',
        'app',
        '--ip',
        '10.0.0.0/8,2001:db8::/32',
        '--hours',
        '2:00-5:00',
        '--timezone',
        'Asia/Tokyo',
        '--max-downloads',
        '3',
        '--password-env',
        'GRANT_PW',
        '--expires-in',
        '30d',
      ],
      { GRANT_PW: PASSWORD },
    );
    expect(created.code).toBe(0);
    const token = created.stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^dbg_\d+_[A-Za-z0-9_-]{43}$/);
    secrets.push(token, token.replace(/^dbg_\d+_/, ''));
    const got = await dbferry(['grant', 'get', 'cli-site']);
    expect(got.stdout).toMatch(/status\s+pending/);
    expect(got.stdout).toMatch(/hours\s+02:00-05:00 Asia\/Tokyo/);
    expect(got.stdout).toMatch(/password\s+required/);
    expect(got.stdout).not.toContain(token);
    expect((await dbferry(['grant', 'approve', 'cli-site'])).stdout).toMatch(/is active/);
    expect(await dbferry(['grant', 'suspend', 'cli-site'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/give a reason/) });
    expect((await dbferry(['grant', 'suspend', 'cli-site', '--reason', 'maintenance'])).stdout).toMatch(/is suspended/);
    expect((await dbferry(['grant', 'reactivate', 'cli-site'])).stdout).toMatch(/is active/);
    const regenerated = await dbferry(['grant', 'regenerate-token', 'cli-site']);
    const newToken = regenerated.stdout.trim().split('\n').at(-1)!;
    secrets.push(newToken, newToken.replace(/^dbg_\d+_/, ''));
    expect(newToken).not.toBe(token);
    const list = JSON.parse((await dbferry(['grant', 'list', '--status', 'active', '--json'])).stdout) as Array<{ name: string }>;
    expect(list.map((g) => g.name)).toContain('cli-site');
    expect((await dbferry(['grant', 'list'])).stdout).toMatch(/NAME\s+STATUS\s+PROFILE/);
    expect((await dbferry(['grant', 'revoke', 'cli-site', '--reason', 'done'])).stdout).toMatch(/is revoked/);
    expect((await dbferry(['transfers', 'list', '--json'])).code).toBe(0);
    expect(await dbferry(['transfers', 'list', '--status', 'done'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--status must be one of/),
    });
    expect(await dbferry(['transfers', 'deny', '1'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/give a reason/) });
    expect(await dbferry(['grant', 'create', 'x', '--site-url', SITE])).toMatchObject({ code: 2 });
    expect(await dbferry(['grant', 'create', 'x', '--site-url', SITE, '--profile', 'app', '--hours', 'nights'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--hours must be START-END/),
    });
    // Refusals from the API come back with the field named, exit 1.
    const bad = await dbferry(['grant', 'create', 'x', '--site-url', SITE, '--profile', 'app', '--ip', '300.1.1.1']);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/ipAllowlist\.0: "300\.1\.1\.1" is not an IP address/) });
    expect(await dbferry(['grant', 'list'], { DBFERRY_TOKEN: stack.alice.token })).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/for admins/),
    });
  });

  it('audits every change with the actor and the reason, and never a token, hash, password or the site URL', async () => {
    const entries = await stack.api.deps.audit.list({ limit: 500 });
    const ours = entries.filter((e) => e.action.startsWith('grant.') || e.action.startsWith('transfer.'));
    const actions = new Set(ours.map((e) => e.action));
    for (const action of [
      'grant.create',
      'grant.approve',
      'grant.suspend',
      'grant.reactivate',
      'grant.revoke',
      'grant.token_regenerate',
      'grant.update',
      'grant.delete',
      'grant.expire',
      'transfer.approve',
      'transfer.deny',
    ])
      expect(actions, action).toContain(action);
    const suspend = ours.find((e) => e.action === 'grant.suspend' && e.resource === 'grant backup-site')!;
    expect(suspend).toMatchObject({ actor: 'admin', resource: 'grant backup-site', detail: { reason: 'security audit', from: 'active' } });
    expect(ours.find((e) => e.action === 'grant.revoke' && e.resource === 'grant backup-site')!.detail).toMatchObject({
      reason: 'no longer needed',
    });
    expect(ours.find((e) => e.action === 'grant.expire')!).toMatchObject({ actor: 'system:expiry' });
    const updates = ours.filter((e) => e.action === 'grant.update');
    expect(updates.some((e) => ((e.detail?.changedFields ?? []) as string[]).includes('downloadPassword'))).toBe(true);
    const all = JSON.stringify(entries);
    for (const s of secrets) expect(all).not.toContain(s);
    expect(all).not.toContain(SITE);
    expect(all).not.toContain('93.184.215.14');
  });
});

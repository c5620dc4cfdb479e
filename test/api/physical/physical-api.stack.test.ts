import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { physicalBackupWorkflowId } from '../../../src/workflows/physical/contracts.ts';
import { readCatalog } from '../../../src/activities/catalog/catalog.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { startTestStack, type TestStack, type TestUser } from '../../harness/stack.ts';

/** Every string in a history, with payload bytes decoded as UTF-8. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return String(value);
}

async function waitForPhysical(user: TestUser, id: string) {
  for (const deadline = Date.now() + 120_000; ;) {
    const view = await user.client.backups.getPhysical.query({ id });
    if (['succeeded', 'failed', 'cancelled'].includes(view.status)) return view;
    if (Date.now() > deadline) throw new Error(`physical backup ${id} still ${view.status}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('physical backups and chain restores through the API', () => {
  let stack: TestStack;
  let scratch: string;
  let fullId: string;
  let incrementalId: string;

  beforeAll(async () => {
    stack = await startTestStack();
    scratch = await mkdtemp(join(stack.restoreRoot, 'phys-api-'));
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('triggers a physical full through tRPC, refuses a second one of the same server while it runs, and hides it from other users', async () => {
    const started = await stack.alice.client.backups.trigger.mutate({ kind: 'physical-full', connection: 'local', target: 'files' });
    expect(started).toMatchObject({ status: 'queued', created: true });
    await expect(
      stack.alice.client.backups.trigger.mutate({ kind: 'physical-full', connection: 'local', target: 'files' }),
    ).rejects.toMatchObject({
      data: { code: 'CONFLICT' },
      message: expect.stringContaining('a physical backup of local is already running'),
    });
    // Watch the process list while it runs: the password is in a 0600 file, never on a command line.
    const seen: string[] = [];
    let view = await stack.alice.client.backups.getPhysical.query({ id: started.id });
    while (!['succeeded', 'failed', 'cancelled'].includes(view.status)) {
      seen.push(...(await processCommandLines(/mariabackup/)));
      await new Promise((r) => setTimeout(r, 100));
      view = await stack.alice.client.backups.getPhysical.query({ id: started.id });
    }
    view = await waitForPhysical(stack.alice, started.id);
    expect(view.lastError).toBeNull();
    expect(view).toMatchObject({
      status: 'succeeded',
      kind: 'physical-full',
      connection: 'local',
      progress: 100,
      fromLsn: '0',
      chainId: started.id,
    });
    // Credentials reach mariabackup only through the defaults file, its first argument.
    for (const line of seen.filter((l) => l.includes(stack.config.workDir))) {
      expect(line).toMatch(/^\S*mariabackup --defaults-file=\S+\/\.secrets\/local-[0-9a-f]+\.cnf --backup --stream=xbstream/);
      expect(line).not.toMatch(/--password|--user/);
    }
    const handle = stack.temporal.workflow.getHandle(physicalBackupWorkflowId('local'));
    expect(historyText(await handle.fetchHistory())).not.toMatch(/password/i);
    fullId = started.id;
    await expect(stack.bob.client.backups.getPhysical.query({ id: started.id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
  });

  it("answers seed 004's 202 Accepted with an id for a REST incremental (gzip), built on the full", async () => {
    const response = await stack.http('/api/v1/backups/physical/local', {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({ kind: 'physical-incremental', target: 'files', compression: 'gzip' }),
    });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { code: number; status: string; id: string };
    expect(body).toMatchObject({ code: 202, status: 'Accepted' });
    const view = await waitForPhysical(stack.alice, body.id);
    expect(view).toMatchObject({ status: 'succeeded', kind: 'physical-incremental', parentId: fullId, chainId: fullId });
    expect(view.key).toMatch(/_incr_[0-9a-f]{8}\.xbstream\.gz$/);
    const viaRest = await stack.http(`/api/v1/backups/physical/${body.id}`, { token: stack.alice.token });
    expect(await viaRest.json()).toMatchObject({ id: body.id, status: 'succeeded' });
    incrementalId = body.id;
    const openapi = (await (await fetch(`${stack.api.url}/api/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/backups/physical/{connection}',
        '/api/v1/backups/chain-restores',
        '/api/v1/backups/chain-restores/{id}',
      ]),
    );
  });

  it("refuses bad physical requests naming the field, and keeps logical requests' own messages", async () => {
    await expect(
      stack.alice.client.backups.trigger.mutate({ kind: 'physical-full', connection: 'nope', target: 'files' }),
    ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' }, message: expect.stringContaining('connection: no connection named "nope"') });
    await expect(
      stack.alice.client.backups.trigger.mutate({ kind: 'physical-full', connection: 'local', target: 'files', parentId: 'x' }),
    ).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
      message: expect.stringContaining('parentId: only an incremental has a parent'),
    });
    await expect(
      stack.alice.client.backups.trigger.mutate({ source: { connection: 'local', database: 'bad-name' }, target: 'files' }),
    ).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
      message: expect.stringContaining('source.database: may contain only letters, digits, _ and $'),
    });
    const response = await stack.http('/api/v1/backups/chain-restores', {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({ chain: { backupId: 'x' }, target: 'files', to: { folder: 'relative/path' } }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain('to.folder: must be an absolute path without ..');
    await expect(
      stack.alice.client.restores.start.mutate({
        chain: { backupId: 'x', connection: 'local' },
        target: 'files',
        to: { folder: '/tmp/x' },
      }),
    ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' }, message: expect.stringContaining('chain: give backupId') });
    await expect(
      stack.alice.client.restores.start.mutate({ chain: { backupId: 'x' }, target: 'files', to: { folder: '/tmp/x', database: 'shop' } }),
    ).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
      message: expect.stringContaining('to: a folder delivery takes no database, destination or recreateDestination'),
    });
  });

  it('runs a physical incremental and a chain restore from the CLI, following them to the end', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, DBFERRY_CONFIG: stack.configPath, DBFERRY_URL: stack.api.url, DBFERRY_TOKEN: stack.alice.token };
    const dbferry = (args: string[]) =>
      run(process.execPath, ['bin/dbferry.js', ...args], { env }).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: `${e.stdout}${e.stderr}` }),
      );
    const backup = await dbferry(['backup', '--physical', '--incremental', '--from', 'local', '--target', 'files', '--follow', '--json']);
    expect(backup.stdout).toContain('"status":"succeeded"');
    expect(backup.code).toBe(0);
    const last = JSON.parse(backup.stdout.trim().split('\n').at(-1)!) as { id: string };
    const folder = join(scratch, 'cli-datadir');
    const restore = await dbferry(['restore', '--chain', last.id, '--target', 'files', '--to', `folder:${folder}`, '--follow', '--json']);
    expect(restore.stdout).toContain('"status":"succeeded"');
    expect(restore.code).toBe(0);
    await access(join(folder, 'xtrabackup_checkpoints'));
    const listed = await dbferry(['backups', 'list', '--target', 'files']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${last.id}\\s+physical-incremental`));
    const refused = await dbferry(['backup', '--physical', '--from', 'local/db', '--target', 'files']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain('--from CONNECTION is required for --physical');
  });

  it('keeps physical manifests in the catalog apart from logical ones, never as problems', async () => {
    const catalog = await readCatalog(stack.targets.files.store);
    expect(catalog.problems).toEqual([]);
    expect(catalog.manifests).toEqual([]);
    expect(catalog.physical!.map((m) => m.kind).sort()).toEqual(['physical-full', 'physical-incremental', 'physical-incremental']);
    const page = await stack.alice.client.backups.list.query({ target: 'files' });
    expect(page.problems).toEqual([]);
  });

  it('restores the chain to a folder through restores.start, and lists and reads it like other restores', async () => {
    const folder = join(scratch, 'datadir');
    const started = await stack.alice.client.restores.start.mutate({ chain: { backupId: incrementalId }, target: 'files', to: { folder } });
    let view = await stack.alice.client.restores.get.query({ id: started.id });
    for (const deadline = Date.now() + 120_000; !['succeeded', 'failed', 'cancelled'].includes(view.status) && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 250));
      view = await stack.alice.client.restores.get.query({ id: started.id });
    }
    expect(view.lastError).toBeNull();
    expect(view).toMatchObject({ status: 'succeeded', kind: 'chain', chain: [fullId, incrementalId], deliveredTo: folder, progress: 100 });
    await access(join(folder, 'xtrabackup_checkpoints'));
    const listed = await stack.alice.client.restores.list.query();
    expect(listed.map((r) => r.id)).toContain(started.id);
    await expect(stack.bob.client.restores.get.query({ id: started.id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    const again = await stack.http(`/api/v1/backups/chain-restores/${started.id}`, { token: stack.alice.token });
    expect(await again.json()).toMatchObject({ id: started.id, status: 'succeeded' });
  });
});

// Native tools run with a minimal environment: on a real run, /proc/<pid>/environ of mydumper, myloader,
// mysqldump and mysql holds only LC_ALL, PATH and TMPDIR, never the worker's secrets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { finish, startBackup, startRestore } from '../../harness/backups.ts';
import { GUARDED_PASSWORD, startTestStack, waitForCopy, type TestStack } from '../../harness/stack.ts';
import { getBackupStatusQuery, getRestoreStatusQuery } from '../../../src/workflows/backup/messages.ts';
import type { BackupState, RestoreState } from '../../../src/workflows/backup/contracts.ts';

const TOOLS = /^(mydumper|myloader|mysqldump|mariadb-dump|mysql|mariadb)$/;
const ALLOWED_KEYS = ['LC_ALL', 'PATH', 'TMPDIR'];

interface ToolEnvironment {
  tool: string;
  environ: string;
}

/** The raw environment of every running tool process that this test process started (through the in-process worker). */
async function toolEnvironments(): Promise<ToolEnvironment[]> {
  const found: ToolEnvironment[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const tool = (cmdline.split('\0')[0] ?? '').split('/').pop() ?? '';
    if (!TOOLS.test(tool)) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => null);
    if (environ !== null) found.push({ tool, environ });
  }
  return found;
}

/** Polls the tools' environments while `run` goes on. */
async function watchTools(run: () => Promise<void>): Promise<ToolEnvironment[]> {
  const seen: ToolEnvironment[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      seen.push(...(await toolEnvironments()));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await run();
  } finally {
    watching = false;
    await watcher;
  }
  return seen;
}

describe('the environment of native tools', () => {
  let stack: TestStack;
  const source = uniqueDbName('toolenv_src');
  const copied = uniqueDbName('toolenv_dst');
  const restored = uniqueDbName('toolenv_rst');
  // Secrets the worker process holds in its environment (the worker runs in this process).
  const secrets: Record<string, string> = {
    AWS_SECRET_ACCESS_KEY: `aws-${randomBytes(12).toString('hex')}-never-leak`,
    DBFERRY_WEBHOOK_SECRET: `hook-${randomBytes(12).toString('hex')}-never-leak`,
  };
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    for (const [key, value] of Object.entries(secrets)) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
    stack = await startTestStack();
    await createBulkDatabase(source, 600_000);
  });
  afterAll(async () => {
    await dropDatabases(source, copied, restored);
    await stack?.stop();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  /** Every secret the worker's environment holds: the ones set above, the connection's password and the S3 secret. */
  const secretValues = (): string[] => {
    const values = [...Object.values(secrets), GUARDED_PASSWORD, process.env.DBFERRY_T_S3_SECRET!];
    // The worker really has them, so their absence from the tools proves the runner strips them.
    expect(process.env[stack.config.connections.guarded!.passwordEnv!]).toBe(GUARDED_PASSWORD);
    for (const [key, value] of Object.entries(secrets)) expect(process.env[key]).toBe(value);
    return values;
  };

  const expectMinimal = (seen: ToolEnvironment[]) => {
    const values = secretValues();
    for (const { tool, environ } of seen) {
      for (const value of values) expect(environ, tool).not.toContain(value);
      const entries = environ.split('\0').filter(Boolean);
      const keys = entries.map((e) => e.slice(0, e.indexOf('=')));
      for (const key of keys) expect(ALLOWED_KEYS, `${tool} has ${key}`).toContain(key);
      expect(keys, tool).toEqual(expect.arrayContaining(['LC_ALL', 'PATH']));
      expect(entries, tool).toContain('LC_ALL=C');
    }
  };

  it('gives mydumper and myloader only LC_ALL, PATH and TMPDIR during a copy', async () => {
    const seen = await watchTools(async () => {
      const { id } = await stack.alice.client.copies.start.mutate({
        source: { connection: 'guarded', database: source },
        destination: { connection: 'guarded', database: copied },
      });
      expect((await waitForCopy(stack.alice.client, id)).status).toBe('succeeded');
    });
    expect(seen.some((s) => s.tool === 'mydumper')).toBe(true);
    expect(seen.some((s) => s.tool === 'myloader')).toBe(true);
    expectMinimal(seen);
  });

  it('gives mysqldump and the mysql client only LC_ALL, PATH and TMPDIR during a backup and its restore', async () => {
    const seen = await watchTools(async () => {
      const backup = await startBackup(stack, {
        source: { connection: 'guarded', database: source },
        target: 's3',
        format: 'mysqldump',
        compression: 'gzip',
      });
      const { state } = await finish<BackupState>(backup, getBackupStatusQuery.name);
      expect(state.status).toBe('succeeded');
      const restore = await startRestore(stack, {
        target: 's3',
        key: state.key!,
        destination: { connection: 'guarded', database: restored },
      });
      expect((await finish<RestoreState>(restore, getRestoreStatusQuery.name)).state.status).toBe('succeeded');
    });
    expect(seen.some((s) => /^(mysqldump|mariadb-dump)$/.test(s.tool))).toBe(true);
    expect(seen.some((s) => /^(mysql|mariadb)$/.test(s.tool))).toBe(true);
    expectMinimal(seen);
  });
});

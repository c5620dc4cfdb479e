// The tools connect with the connection's TLS settings and verify the server's certificate: against a
// mariadbd that accepts its user only over TLS (REQUIRE SSL), every tool (mydumper, myloader,
// mysqldump, mysql, mariabackup) gets in with `tls` set, is refused without it or with the wrong CA,
// and a copy and a backup through the whole stack work from that server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { WorkflowIdConflictPolicy } from '@temporalio/client';
import type { ConnectionConfig } from '../../../src/config/schema.ts';
import { runMydumper, runMyloader } from '../../../src/activities/tools/mydumper.ts';
import { runTool, startTool, withDefaultsFile } from '../../../src/activities/tools/tools.ts';
import { backupArgs } from '../../../src/activities/physical/commands.ts';
import { copyWorkflowId, type CopyState, type CopyWorkflowInput } from '../../../src/workflows/copy/contracts.ts';
import type { copyDatabase } from '../../../src/workflows/copy/copy-database.ts';
import type { BackupState } from '../../../src/workflows/backup/contracts.ts';
import { getBackupStatusQuery } from '../../../src/workflows/backup/messages.ts';
import { finish, startBackup } from '../../harness/backups.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import { startTlsServer, type TlsServer } from '../../harness/tls-server.ts';

const PASSWORD_ENV = 'DBFERRY_T_TLS_PASSWORD';

describe('TLS for the tools', () => {
  let server: TlsServer;
  let workDir: string;
  const conn = (tls?: ConnectionConfig['tls']): ConnectionConfig => ({
    host: server.host,
    port: server.port,
    user: server.user,
    passwordEnv: PASSWORD_ENV,
    flavor: 'mariadb',
    allowWrite: true,
    ...(tls ? { tls } : {}),
  });
  const verified = () => conn({ ca: server.ca, rejectUnauthorized: true });
  const wrongCa = () => conn({ ca: server.otherCa, rejectUnauthorized: true });
  const signal = new AbortController().signal;

  beforeAll(async () => {
    server = await startTlsServer();
    process.env[PASSWORD_ENV] = server.password;
    workDir = await mkdtemp(join(tmpdir(), 'dbferry-tls-work-'));
    const root = await server.root();
    await root.query(
      'CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO shop.items VALUES (1, "a"), (2, "b"), (3, "c")',
    );
    await root.end();
  });
  afterAll(async () => {
    await server?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const dump = async (c: ConnectionConfig, label: string): Promise<string> => {
    const outputDir = join(workDir, `dump-${label}`);
    await runMydumper({
      workDir,
      name: 'tls',
      conn: c,
      database: 'shop',
      threads: 2,
      pidFile: join(workDir, `${label}.pid`),
      signal,
      outputDir,
    });
    return outputDir;
  };
  const sql = (c: ConnectionConfig, tool: 'mysql' | 'mysqldump', args: string[]) =>
    withDefaultsFile(workDir, 'tls', c, (cnf) => runTool({ command: tool, args: [`--defaults-file=${cnf}`, ...args], signal }));

  it('mydumper and myloader connect over TLS with the CA, and not at all without tls (the user requires SSL)', async () => {
    const dir = await dump(verified(), 'verified');
    expect((await readdir(dir)).some((f) => f.startsWith('shop.items'))).toBe(true);
    await runMyloader({
      workDir,
      name: 'tls',
      conn: verified(),
      database: 'shop_loaded',
      threads: 2,
      pidFile: join(workDir, 'l.pid'),
      signal,
      directory: dir,
    });
    const root = await server.root();
    const [rows] = await root.query('SELECT COUNT(*) AS n FROM shop_loaded.items');
    await root.end();
    expect(rows).toEqual([{ n: 3 }]);
    // Today's behaviour before this change: no TLS at all, so the server refuses the user.
    await expect(dump(conn(), 'plain')).rejects.toThrow(/Access denied/);
    // TLS without a CA, not verified: encrypted, so the user gets in.
    await dump(conn({ rejectUnauthorized: false }), 'unverified');
  });

  it('verifies the server certificate: a CA that did not sign it is refused by every tool, unless rejectUnauthorized is false', async () => {
    await expect(dump(wrongCa(), 'wrong-ca')).rejects.toThrow(/certificate|TLS\/SSL/i);
    await expect(sql(wrongCa(), 'mysqldump', ['shop'])).rejects.toThrow(/certificate|TLS\/SSL|2026/i);
    await expect(sql(wrongCa(), 'mysql', ['-e', 'SELECT 1'])).rejects.toThrow(/certificate|TLS\/SSL|2026/i);
    // Without verification the same wrong CA is not used: the connection is encrypted and accepted.
    await dump(conn({ ca: server.otherCa, rejectUnauthorized: false }), 'wrong-ca-unverified');
    // With no CA, the system's CAs are used, which did not sign the test server's certificate.
    await expect(dump(conn({ rejectUnauthorized: true }), 'system-ca')).rejects.toThrow(/certificate|TLS\/SSL/i);
  });

  it('mysqldump and mysql run over TLS (the session reports its cipher)', async () => {
    const lines = await sql(verified(), 'mysql', ['-N', '-e', "SHOW SESSION STATUS LIKE 'Ssl_cipher'"]);
    expect(lines.join('\n')).toMatch(/Ssl_cipher\s+TLS/);
    await sql(verified(), 'mysqldump', ['--result-file', join(workDir, 'shop.sql'), 'shop']);
  });

  it('mariabackup takes a backup over TLS and refuses a server whose certificate the CA did not sign', async () => {
    const backup = (c: ConnectionConfig, label: string) =>
      withDefaultsFile(workDir, 'tls', c, async (cnf) => {
        const target = join(workDir, `mb-${label}`);
        await mkdir(target, { recursive: true });
        const args = backupArgs({
          defaultsFile: cnf,
          targetDir: target,
          lsnDir: join(target, 'lsn'),
          incrementalLsn: null,
          parallel: 1,
          datadir: server.datadir,
        });
        const tool = startTool('mariabackup', args, { signal, stdout: 'ignore' });
        await tool.done;
        return tool.tail;
      });
    await backup(verified(), 'verified');
    await expect(backup(wrongCa(), 'wrong-ca')).rejects.toThrow(/SSL|certificate/i);
    await expect(backup(conn(), 'plain')).resolves.toBeDefined(); // mariabackup 10.11 negotiates TLS on its own
  });

  describe('through the stack', () => {
    let stack: TestStack;
    const copied = uniqueDbName('tls_dst');
    beforeAll(async () => {
      stack = await startTestStack({
        extraConnections: {
          tlsprod: { host: server.host, port: server.port, user: server.user, passwordEnv: PASSWORD_ENV, tls: { ca: server.ca } },
        },
      });
    });
    afterAll(async () => {
      await stack?.stop();
      await dropDatabases(copied);
    });

    it('copies a database from a server that accepts only TLS into the local one, and backs it up with mysqldump', async () => {
      const input: CopyWorkflowInput = {
        copyId: randomUUID(),
        source: { connection: 'tlsprod', database: 'shop' },
        destination: { connection: 'local', database: copied },
        threads: 2,
        recreateDestination: false,
        callbackUrl: null,
        requestedBy: 'test',
      };
      const handle = await stack.temporal.workflow.start<typeof copyDatabase>('copyDatabase', {
        taskQueue: stack.config.taskQueue,
        workflowId: copyWorkflowId(input.destination),
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        args: [input],
      });
      await handle.result().catch(() => undefined); // a failed copy throws; its state says why
      const final = (await handle.describe()).memo?.state as CopyState;
      expect(final.status, final.lastError ?? '').toBe('succeeded');
      const root = await rootConnection();
      const [rows] = await root.query(`SELECT COUNT(*) AS n FROM \`${copied}\`.items`);
      await root.end();
      expect(Number((rows as Array<{ n: string }>)[0]!.n)).toBe(3);

      const backup = await startBackup(stack, {
        source: { connection: 'tlsprod', database: 'shop' },
        target: 'files',
        format: 'mysqldump',
        compression: 'gzip',
      });
      const { state: backed } = await finish<BackupState>(backup, getBackupStatusQuery.name);
      expect(backed.status, backed.lastError ?? '').toBe('succeeded');
    });
  });
});

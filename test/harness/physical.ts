// Starting physical backups and chain restores through the Temporal client (as the API does), and
// reading a restored server's table checksums.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { readdir } from 'node:fs/promises';
import { WorkflowIdConflictPolicy, type WorkflowHandle } from '@temporalio/client';
import type mysql from 'mysql2/promise';
import {
  physicalBackupWorkflowId,
  restoreChainWorkflowId,
  type PhysicalBackupWorkflowInput,
  type RestoreChainWorkflowInput,
} from '../../src/workflows/physical/contracts.ts';
import type { physicalBackup } from '../../src/workflows/physical/physical-backup.ts';
import type { restoreChain } from '../../src/workflows/physical/restore-chain.ts';
import type { TestStack } from './stack.ts';

export async function startPhysicalBackup(
  stack: TestStack,
  request: Partial<PhysicalBackupWorkflowInput> & Pick<PhysicalBackupWorkflowInput, 'kind' | 'target'>,
): Promise<WorkflowHandle<typeof physicalBackup>> {
  const input: PhysicalBackupWorkflowInput = {
    backupId: randomUUID(),
    connection: 'local',
    compression: 'zstd',
    threads: 2,
    parentId: null,
    requestedBy: 'test',
    callbackUrl: null,
    scheduleId: null,
    retention: null,
    ...request,
  };
  return stack.temporal.workflow.start<typeof physicalBackup>('physicalBackup', {
    taskQueue: stack.config.taskQueue,
    workflowId: physicalBackupWorkflowId(input.connection),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    args: [input],
  });
}

export async function startRestoreChain(
  stack: TestStack,
  request: Partial<RestoreChainWorkflowInput> & Pick<RestoreChainWorkflowInput, 'target' | 'deliver'>,
): Promise<WorkflowHandle<typeof restoreChain>> {
  const input: RestoreChainWorkflowInput = {
    restoreId: randomUUID(),
    backupId: null,
    before: null,
    connection: null,
    threads: 2,
    requestedBy: 'test',
    callbackUrl: null,
    ...request,
  };
  return stack.temporal.workflow.start<typeof restoreChain>('restoreChain', {
    taskQueue: stack.config.taskQueue,
    workflowId: restoreChainWorkflowId(input.deliver),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    args: [input],
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** CHECKSUM TABLE of every base table of `db`, through `conn`. */
export async function tableChecksums(conn: mysql.Connection, db: string): Promise<Record<string, string>> {
  const [tables] = await conn.query<mysql.RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [db],
  );
  const sums: Record<string, string> = {};
  for (const { t } of tables) {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE \`${db}\`.\`${String(t)}\` EXTENDED`);
    sums[String(t)] = String(rows[0]?.Checksum);
  }
  return sums;
}

/** Chain scratch directories, dump directories and defaults files a restore may have left in workDir. */
export async function leftoversIn(workDir: string): Promise<string[]> {
  const names = await readdir(workDir).catch(() => [] as string[]);
  return names.filter((n) => /^(chain-|copy-|physical-)/.test(n));
}

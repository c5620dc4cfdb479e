// Starting backups and restores through the Temporal client (as the API does) and inspecting what
// they left in a target.
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowIdConflictPolicy, type WorkflowHandle } from '@temporalio/client';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import {
  backupWorkflowId,
  type BackupState,
  type BackupWorkflowInput,
  type RestoreState,
  type RestoreWorkflowInput,
} from '../../src/workflows/backup/contracts.ts';
import { copyWorkflowId } from '../../src/workflows/copy/contracts.ts';
import type { BackupStore } from '../../src/activities/storage/store.ts';
import type { backupDatabase } from '../../src/workflows/backup/backup-database.ts';
import type { restoreBackup } from '../../src/workflows/backup/restore-backup.ts';
import type { TestStack } from './stack.ts';

export type BackupRequest = Pick<BackupWorkflowInput, 'source' | 'target' | 'format' | 'compression'> & Partial<BackupWorkflowInput>;
export type RestoreRequest = Pick<RestoreWorkflowInput, 'target' | 'key' | 'destination'> & Partial<RestoreWorkflowInput>;

/** Starts backupDatabase with the workflow id the API uses (one backup per source at a time). */
export async function startBackup(stack: TestStack, request: BackupRequest): Promise<WorkflowHandle<typeof backupDatabase>> {
  const input: BackupWorkflowInput = {
    backupId: randomUUID(),
    threads: 2,
    requestedBy: 'test',
    callbackUrl: null,
    scheduleId: null,
    retention: null,
    ...request,
  };
  return stack.temporal.workflow.start<typeof backupDatabase>('backupDatabase', {
    taskQueue: stack.config.taskQueue,
    workflowId: backupWorkflowId(input.source),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    args: [input],
  });
}

/** Starts restoreBackup under the destination's copy lock, as the API does. */
export async function startRestore(stack: TestStack, request: RestoreRequest): Promise<WorkflowHandle<typeof restoreBackup>> {
  const input: RestoreWorkflowInput = {
    restoreId: randomUUID(),
    recreateDestination: false,
    threads: 2,
    requestedBy: 'test',
    callbackUrl: null,
    ...request,
  };
  return stack.temporal.workflow.start<typeof restoreBackup>('restoreBackup', {
    taskQueue: stack.config.taskQueue,
    workflowId: copyWorkflowId(input.destination),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    args: [input],
  });
}

/**
 * Waits for the run to close and returns its final state (from the memo, as the API reads it),
 * with every progress value seen on the way (polled through the query).
 */
export async function finish<S extends BackupState | RestoreState>(
  handle: WorkflowHandle,
  query: string,
): Promise<{ state: S; progress: number[] }> {
  const progress: number[] = [];
  let closed = false;
  const result = handle.result().finally(() => (closed = true));
  result.catch(() => undefined);
  while (!closed) {
    const state = await handle.query<S>(query).catch(() => null);
    if (state && progress.at(-1) !== state.progress) progress.push(state.progress);
    await new Promise((r) => setTimeout(r, 100));
  }
  await result.catch(() => undefined);
  const state = (await handle.describe()).memo?.state as S;
  if (progress.at(-1) !== state.progress) progress.push(state.progress);
  return { state, progress };
}

/** sha256 and size of a stored object, read afresh. */
export async function hashStoredObject(store: BackupStore, key: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of (await store.download(key)) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Every key under `prefix` in a store. */
export async function keysUnder(store: BackupStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(prefix)) keys.push(object.key);
  return keys;
}

/** A raw client on the test S3 server, for what the store does not expose (pending multipart uploads). */
export function rawS3Client(): S3Client {
  const s3 = inject('s3');
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** Keys of the multipart uploads still pending under `prefix` in `bucket`. */
export async function pendingUploads(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const { Uploads } = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (Uploads ?? []).map((u) => u.Key ?? '');
}

// On-demand backups, the backup log and downloads: the logic behind tRPC and REST.
import type { Need } from '../../control/policy.ts';
import { runNeeds } from '../../control/run-needs.ts';
import type { Readable } from 'node:stream';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import { manifestKeyFor, type BackupState } from '../../workflows/backup/contracts.ts';
import type { ListBackupsInput, TriggerBackupInput } from './schemas.ts';
import { parseManifest } from '../../activities/catalog/manifests.ts';
import { PermanentStorageError } from '../../activities/storage/store.ts';
import { checkBackupRequest } from './checks.ts';
import { BACKUP_KIND, backupExecutions, Catalogs, listBackups, ownsScheduled, type BackupPage } from './log.ts';
import { scheduleIdOf, viewFromExecution, viewFromManifest, type BackupRequestMemo, type BackupView } from './view.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { backupSourceLock } from '../runs/locks.ts';
import { RunService, type RunKind, type StartedRun } from '../runs/run-service.ts';
import type { BackupDatabaseWorkflow } from './workflow-types.ts';

export type { BackupView } from './view.ts';
export type { BackupPage } from './log.ts';

/** How to fetch a backup: a presigned S3 URL, or the API's own streaming route for file targets. */
export interface BackupDownload {
  id: string;
  kind: 'presigned' | 'api';
  /** Absolute for `presigned`; a path on the API (send the bearer token) for `api`. */
  url: string;
  expiresAt: string | null;
  filename: string;
  size: number;
  sha256: string;
}

/** A trigger as the API takes it: REST may leave the target out. */
export type TriggerBackupRequest = Omit<TriggerBackupInput, 'target'> & { target?: string | undefined };

const PRESIGN_SECONDS = 15 * 60;
const finalStatuses = new Set(['succeeded', 'failed', 'cancelled']);

// On-demand backups start through the run service; reading them goes through the log (scheduled runs have no record).
const backups: RunKind<BackupState, BackupState> = {
  kind: BACKUP_KIND,
  noun: 'backup',
  queued: (record) => queuedState(record.id, (record.request as TriggerBackupInput).target),
  view: (_record, state) => state,
};

export class BackupService {
  readonly catalogs: Catalogs;
  readonly #runs: RunService<BackupState, BackupState>;
  constructor(private readonly deps: ApiDeps) {
    this.catalogs = new Catalogs(deps);
    this.#runs = new RunService(deps, backups);
  }

  /**
   * Starts a backup now under the source's lock, or returns the one this user already started with
   * the same idempotency key. Without a target (REST), the config's only target is used.
   */
  async trigger(user: AuthenticatedUser, request: TriggerBackupRequest): Promise<StartedRun & { target: string }> {
    const input: TriggerBackupInput = { ...request, target: request.target ?? this.defaultTarget() };
    await checkBackupRequest(this.deps.config, input);
    const callbackUrl = input.callbackUrl ?? null;
    const started = await this.#runs.start<BackupDatabaseWorkflow>(user, {
      workflowType: 'backupDatabase',
      needs: runNeeds({ workflow: 'backupDatabase', source: input.source, target: input.target }),
      lock: backupSourceLock(input.source),
      request: input,
      callbackUrl,
      args: (backupId) => [
        {
          backupId,
          source: input.source,
          target: input.target,
          format: input.format,
          compression: input.compression,
          threads: input.threads,
          requestedBy: user.name,
          callbackUrl,
          scheduleId: null,
          retention: null,
        },
      ],
      attributes: { source: `${input.source.connection}/${input.source.database}`, destination: input.target },
      memo: { request: { format: input.format, compression: input.compression } satisfies BackupRequestMemo },
      // mysqldump is one session whatever `threads` says; mydumper opens `threads`.
      source: { connection: input.source.connection, threads: input.format === 'mydumper' ? input.threads : 1 },
    });
    return { ...started, target: input.target };
  }

  /** The config's only target; with several (or none) the caller has to name one. */
  private defaultTarget(): string {
    const targets = Object.keys(this.deps.config.targets);
    if (targets.length === 1) return targets[0]!;
    throw new ApiError(
      'BAD_REQUEST',
      `is required when the config declares ${targets.length ? `several targets (${targets.join(', ')})` : 'no targets'}`,
      'target',
    );
  }

  list(user: AuthenticatedUser, filter: ListBackupsInput): Promise<BackupPage> {
    return listBackups(this.deps, this.catalogs, user, filter);
  }

  /** One backup this user may see: triggered by them, or started by one of their schedules; else NOT_FOUND. */
  async get(user: AuthenticatedUser, id: string): Promise<BackupView> {
    const record = await this.deps.runs.getOwned(id, user.id, BACKUP_KIND);
    if (record?.runId) {
      const run = viewFromExecution(await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId).describe());
      const request = record.request as TriggerBackupInput;
      const base = { ...run, format: run.format ?? request.format, compression: run.compression ?? request.compression };
      return run.status === 'succeeded' ? ((await this.withManifest(base)) ?? base) : base;
    }
    if (!record) {
      const { entries } = await this.catalogs.readAll();
      const found = entries.find((e) => e.manifest.id === id && ownsScheduled(user, e.manifest.scheduleId));
      if (found) return { ...viewFromManifest(found.manifest, found.target), tables: found.manifest.tables };
      // A scheduled run uses its run id as backup id.
      for await (const e of backupExecutions(this.deps.temporal, user, {}, `RunId = '${id}'`)) {
        if (ownsScheduled(user, scheduleIdOf(e))) return (await this.withManifest(viewFromExecution(e))) ?? viewFromExecution(e);
      }
    }
    throw new ApiError('NOT_FOUND', `no backup with id ${id}`, 'id');
  }

  /** A link to fetch the backup's bytes: presigned for S3 (15 minutes), the API's route for files. */
  async download(user: AuthenticatedUser, id: string): Promise<BackupDownload> {
    const view = await this.downloadable(user, id);
    const url = await this.deps.stores.get(view.target).presign(view.key, PRESIGN_SECONDS);
    return {
      id,
      kind: url ? 'presigned' : 'api',
      url: url ?? `/api/v1/backups/${encodeURIComponent(id)}/download`,
      expiresAt: url ? new Date(Date.now() + PRESIGN_SECONDS * 1000).toISOString() : null,
      filename: view.key.split('/').at(-1)!,
      size: view.size ?? 0,
      sha256: view.sha256 ?? '',
    };
  }

  /** The backup's bytes for the REST route (file targets), or where to redirect (S3). */
  async open(
    user: AuthenticatedUser,
    id: string,
  ): Promise<{ view: BackupView & { key: string }; redirect: string | null; body: Readable | null }> {
    const view = await this.downloadable(user, id);
    const store = this.deps.stores.get(view.target);
    const redirect = await store.presign(view.key, PRESIGN_SECONDS);
    try {
      return { view, redirect, body: redirect ? null : await store.download(view.key) };
    } catch (error) {
      if (error instanceof PermanentStorageError && error.code === 'NoSuchKey')
        throw new ApiError('NOT_FOUND', `backup ${id} is no longer in target "${view.target}"`, 'id');
      throw error;
    }
  }

  /** Asks a running backup to stop; the workflow aborts the upload and leaves nothing in the target. */
  async cancel(user: AuthenticatedUser, id: string): Promise<BackupView> {
    const view = await this.get(user, id);
    if (finalStatuses.has(view.status)) return view;
    const record = await this.deps.runs.getOwned(id, user.id, BACKUP_KIND);
    if (record?.runId) await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId).cancel();
    else {
      for await (const e of backupExecutions(this.deps.temporal, user, {}, `RunId = '${id}'`)) {
        if (ownsScheduled(user, scheduleIdOf(e))) await this.deps.temporal.workflow.getHandle(e.workflowId, e.runId).cancel();
      }
    }
    return this.get(user, id);
  }

  private async downloadable(user: AuthenticatedUser, id: string): Promise<BackupView & { key: string }> {
    const view = await this.get(user, id);
    if (view.status !== 'succeeded')
      throw new ApiError('CONFLICT', `backup ${id} is ${view.status}; only a succeeded backup can be downloaded`, 'id');
    if (!view.available || !view.key || !Object.hasOwn(this.deps.config.targets, view.target))
      throw new ApiError('NOT_FOUND', `backup ${id} is no longer in target "${view.target}" (deleted by retention or by hand)`, 'id');
    // A download exposes the source's data: whoever fetches it may restore from the target and read the source.
    const needs: Need[] = [
      { action: 'restore', kind: 'target', name: view.target, field: 'id' },
      { action: 'read', kind: 'connection', name: view.source.connection, field: 'id' },
    ];
    await this.deps.access.require(user, needs, 'backup.download');
    await this.deps.access.record({
      actor: user.name,
      actorUserId: user.id,
      action: 'backup.download',
      resource: `${view.target}/${view.key}`,
      runId: id,
      detail: { source: `${view.source.connection}/${view.source.database}` },
    });
    return view as BackupView & { key: string };
  }

  /** The view completed from the manifest beside the run's object, or null when it is gone. */
  private async withManifest(view: BackupView): Promise<BackupView | null> {
    if (!view.key || !Object.hasOwn(this.deps.config.targets, view.target)) return null;
    const store = this.deps.stores.get(view.target);
    const manifestKey = manifestKeyFor(view.key);
    if (!(await store.head(manifestKey))) return { ...view, available: false };
    const manifest = parseManifest(await store.getJson(manifestKey), `${store.url}/${manifestKey}`);
    return { ...viewFromManifest(manifest, view.target), tables: manifest.tables, retention: view.retention };
  }
}

function queuedState(id: string, target: string): BackupState {
  return {
    id,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    target,
    key: null,
    size: null,
    sha256: null,
    retention: null,
  };
}

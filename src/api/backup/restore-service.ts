// Starting, reading and cancelling restores of logical backups; only the creator sees a restore.
import { runNeeds } from '../../control/run-needs.ts';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RestoreState } from '../../workflows/backup/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { findDestinationProblem, findSameServerProblem } from '../../shared/copy-rules.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { serverDestinationLock } from '../runs/locks.ts';
import { RunService, type RunKind, type StartedRun } from '../runs/run-service.ts';
import type { StartRestoreInput } from './schemas.ts';
import type { BackupService } from './service.ts';
import type { RestoreBackupWorkflow } from './workflow-types.ts';

/** A restore as the API shows it: the workflow's state plus what was asked for. */
export interface RestoreView extends RestoreState {
  backupId: string;
  destination: DatabaseRef;
  createdAt: string;
}

const restores: RunKind<RestoreState, RestoreView> = {
  kind: 'restore',
  noun: 'restore',
  queued: (record) => ({
    id: record.id,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    backupId: (record.request as StartRestoreInput).backupId,
    tables: [],
  }),
  view(record, state) {
    const request = record.request as StartRestoreInput;
    return { ...state, backupId: request.backupId, destination: request.destination, createdAt: record.createdAt };
  },
};

export class RestoreService {
  readonly #runs: RunService<RestoreState, RestoreView>;
  constructor(
    private readonly deps: ApiDeps,
    private readonly backups: BackupService,
  ) {
    this.#runs = new RunService(deps, restores);
  }

  /** Checks the destination and the backup, then starts restoreBackup under the destination's lock. */
  async start(user: AuthenticatedUser, input: StartRestoreInput): Promise<StartedRun> {
    const servers = this.deps.servers;
    const problem =
      findDestinationProblem(this.deps.config, input.destination) ??
      (await findSameServerProblem(this.deps.config, (a, b) => servers.same(a, b), { destination: input.destination }));
    if (problem) throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', problem.message, problem.field);
    const lock = await serverDestinationLock(servers, input.destination);
    const backup = await this.backups.get(user, input.backupId).catch((error: unknown) => {
      throw error instanceof ApiError ? new ApiError(error.code, `no backup with id ${input.backupId}`, 'backupId') : error;
    });
    if (backup.status !== 'succeeded' || !backup.available || !backup.key) {
      throw new ApiError(
        'CONFLICT',
        `backup ${input.backupId} is ${backup.available ? backup.status : 'no longer in its target'}; only an existing, succeeded backup can be restored`,
        'backupId',
      );
    }
    if (input.callbackUrl) await checkCallbackUrl(input.callbackUrl, this.deps.config.webhooks.allowPrivateNetworks, 'callbackUrl');
    const key = backup.key;
    const callbackUrl = input.callbackUrl ?? null;
    return this.#runs.start<RestoreBackupWorkflow>(user, {
      workflowType: 'restoreBackup',
      needs: runNeeds({
        workflow: 'restoreBackup',
        target: backup.target,
        destination: input.destination,
        backupSource: backup.source.connection,
      }),
      lock,
      request: input,
      callbackUrl,
      args: (restoreId) => [
        {
          restoreId,
          target: backup.target,
          key,
          destination: input.destination,
          recreateDestination: input.recreateDestination,
          threads: input.threads,
          requestedBy: user.name,
          callbackUrl,
        },
      ],
      attributes: {
        source: `${backup.source.connection}/${backup.source.database}`,
        destination: `${input.destination.connection}/${input.destination.database}`,
      },
    });
  }

  get(user: AuthenticatedUser, id: string): Promise<RestoreView> {
    return this.#runs.get(user, id);
  }

  list(user: AuthenticatedUser, limit: number): Promise<RestoreView[]> {
    return this.#runs.list(user, limit);
  }

  /** Requests cancellation; the workflow kills the load and drops (or empties) what it created. */
  cancel(user: AuthenticatedUser, id: string): Promise<RestoreView> {
    return this.#runs.cancel(user, id);
  }
}

// Physical backups and chain restores through the API: start, read, list and cancel, each run
// visible only to the user who started it (the control schema's runs, like copies and restores).
import { listPhysicalManifests } from '../../activities/catalog/physical-manifests.ts';
import { runNeeds } from '../../control/run-needs.ts';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RunRecord } from '../../control/runs.ts';
import { findDestinationProblem, findSameServerProblem } from '../../shared/copy-rules.ts';
import { findRestoreFolderProblem } from '../../shared/restore-folder.ts';
import type {
  ChainDelivery,
  PhysicalBackupState,
  PhysicalBackupWorkflowInput,
  RestoreChainState,
  RestoreChainWorkflowInput,
} from '../../workflows/physical/contracts.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { physicalServerLock, serverChainDeliveryLock } from '../runs/locks.ts';
import { RunService, type RunKind, type StartedRun } from '../runs/run-service.ts';
import type { StartChainRestoreInput, TriggerPhysicalBackupInput } from './schemas.ts';

export const PHYSICAL_BACKUP_KIND = 'physical-backup';
export const CHAIN_RESTORE_KIND = 'restore-chain';

type PhysicalBackupWorkflow = (input: PhysicalBackupWorkflowInput) => Promise<PhysicalBackupState>;
type RestoreChainWorkflow = (input: RestoreChainWorkflowInput) => Promise<RestoreChainState>;

export interface PhysicalBackupView extends PhysicalBackupState {
  connection: string;
  createdAt: string;
}
export interface ChainRestoreView extends RestoreChainState {
  kind: 'chain';
  request: StartChainRestoreInput;
  createdAt: string;
}

const queuedFields = (record: RunRecord) =>
  ({
    id: record.id,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
  }) as const;

const physicalBackups: RunKind<PhysicalBackupState, PhysicalBackupView> = {
  kind: PHYSICAL_BACKUP_KIND,
  noun: 'physical backup',
  queued(record) {
    const request = record.request as TriggerPhysicalBackupInput;
    return {
      ...queuedFields(record),
      kind: request.kind,
      target: request.target,
      key: null,
      size: null,
      sha256: null,
      chainId: null,
      parentId: null,
      fromLsn: null,
      toLsn: null,
      retention: null,
    };
  },
  view: (record, state) => ({
    ...state,
    connection: (record.request as TriggerPhysicalBackupInput).connection,
    createdAt: record.createdAt,
  }),
};

const chainRestores: RunKind<RestoreChainState, ChainRestoreView> = {
  kind: CHAIN_RESTORE_KIND,
  noun: 'chain restore',
  queued: (record) => ({ ...queuedFields(record), chain: [], steps: [], deliveredTo: null, tables: [] }),
  view: (record, state) => ({ ...state, kind: 'chain', request: record.request as StartChainRestoreInput, createdAt: record.createdAt }),
};

function deliveryOf(input: StartChainRestoreInput): ChainDelivery {
  const { folder, database, destination, recreateDestination } = input.to;
  // The schema lets through exactly one of the two shapes.
  return folder !== undefined
    ? { kind: 'folder', path: folder }
    : { kind: 'database', database: database!, destination: destination!, recreateDestination: recreateDestination ?? false };
}

export class PhysicalService {
  readonly #backups: RunService<PhysicalBackupState, PhysicalBackupView>;
  readonly #chains: RunService<RestoreChainState, ChainRestoreView>;
  constructor(private readonly deps: ApiDeps) {
    this.#backups = new RunService(deps, physicalBackups);
    this.#chains = new RunService(deps, chainRestores);
  }

  /** Starts a physical backup of a server; one per server at a time (409 while one runs). */
  async trigger(user: AuthenticatedUser, input: TriggerPhysicalBackupInput): Promise<StartedRun> {
    if (!Object.hasOwn(this.deps.config.connections, input.connection))
      throw new ApiError('BAD_REQUEST', `no connection named "${input.connection}"`, 'connection');
    this.checkTarget(input.target);
    await this.checkCallback(input.callbackUrl);
    const callbackUrl = input.callbackUrl ?? null;
    return this.#backups.start<PhysicalBackupWorkflow>(user, {
      workflowType: 'physicalBackup',
      needs: runNeeds({ workflow: 'physicalBackup', connection: input.connection, target: input.target }),
      lock: physicalServerLock(input.connection),
      request: input,
      callbackUrl,
      args: (backupId) => [
        {
          backupId,
          connection: input.connection,
          target: input.target,
          kind: input.kind,
          compression: input.compression,
          threads: input.threads,
          parentId: input.parentId ?? null,
          requestedBy: user.name,
          callbackUrl,
          scheduleId: null,
          retention: null,
        },
      ],
      attributes: { source: input.connection, destination: input.target },
      source: { connection: input.connection, threads: input.threads, field: 'connection' },
    });
  }

  getBackup(user: AuthenticatedUser, id: string): Promise<PhysicalBackupView> {
    return this.#backups.get(user, id);
  }

  cancelBackup(user: AuthenticatedUser, id: string): Promise<PhysicalBackupView> {
    return this.#backups.cancel(user, id);
  }

  /** Checks the destination, then starts restoreChain (a database delivery takes the destination's copy lock). */
  async startChain(user: AuthenticatedUser, input: StartChainRestoreInput): Promise<StartedRun> {
    this.checkTarget(input.target);
    const deliver = deliveryOf(input);
    if (deliver.kind === 'database') {
      const servers = this.deps.servers;
      const problem =
        findDestinationProblem(this.deps.config, deliver.destination) ??
        (await findSameServerProblem(this.deps.config, (a, b) => servers.same(a, b), { destination: deliver.destination }));
      if (problem) throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', problem.message, `to.${problem.field}`);
    } else await this.checkFolder(deliver.path);
    await this.checkCallback(input.callbackUrl);
    const callbackUrl = input.callbackUrl ?? null;
    const lock = await serverChainDeliveryLock(this.deps.servers, deliver);
    return this.#chains.start<RestoreChainWorkflow>(user, {
      workflowType: 'restoreChain',
      needs: runNeeds({
        workflow: 'restoreChain',
        target: input.target,
        destination: deliver.kind === 'database' ? deliver.destination : null,
        pieceSources: await this.pieceSources(input),
      }),
      lock,
      request: input,
      callbackUrl,
      args: (restoreId) => [
        {
          restoreId,
          target: input.target,
          backupId: input.chain.backupId ?? null,
          before: input.chain.before ?? null,
          connection: input.chain.connection ?? null,
          deliver,
          threads: input.threads,
          requestedBy: user.name,
          callbackUrl,
        },
      ],
      attributes: {
        source: input.target,
        destination:
          deliver.kind === 'folder' ? `folder:${deliver.path}` : `${deliver.destination.connection}/${deliver.destination.database}`,
      },
    });
  }

  /** The chain restore, or null when `id` is not one of this user's chain restores. */
  findChain(user: AuthenticatedUser, id: string): Promise<ChainRestoreView | null> {
    return this.#chains.find(user, id);
  }

  getChain(user: AuthenticatedUser, id: string): Promise<ChainRestoreView> {
    return this.#chains.get(user, id);
  }

  listChains(user: AuthenticatedUser, limit: number): Promise<ChainRestoreView[]> {
    return this.#chains.list(user, limit);
  }

  /** Cancels the chain restore, or returns null when `id` is not one of this user's chain restores. */
  async cancelChain(user: AuthenticatedUser, id: string): Promise<ChainRestoreView | null> {
    return (await this.#chains.find(user, id)) ? this.#chains.cancel(user, id) : null;
  }

  /**
   * The connections whose backups the chain restore would read: the asked connection, or the
   * connection of the asked piece (a chain never mixes servers; the worker checks every piece again).
   */
  private async pieceSources(input: StartChainRestoreInput): Promise<string[]> {
    if (input.chain.connection) return [input.chain.connection];
    if (!input.chain.backupId) return [];
    try {
      const { manifests } = await listPhysicalManifests(this.deps.stores.get(input.target), 'physical-');
      const piece = manifests.find((m) => m.id === input.chain.backupId);
      return piece ? [piece.source.connection] : [];
    } catch {
      // The target cannot be read now: the worker resolves the chain and checks each piece's connection.
      return [];
    }
  }

  /** A folder restore writes only strictly inside the config's restoreRoots, never into a datadir, workDir or system directory. */
  private async checkFolder(folder: string): Promise<void> {
    const { restoreRoots, workDir } = this.deps.config;
    const problem = await findRestoreFolderProblem(folder, { restoreRoots, workDir, datadirs: await this.deps.datadirs.all() });
    if (problem) throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', problem.message, 'to.folder');
  }

  private checkTarget(target: string): void {
    if (!Object.hasOwn(this.deps.config.targets, target)) throw new ApiError('BAD_REQUEST', `no target named "${target}"`, 'target');
  }

  private async checkCallback(url: string | null | undefined): Promise<void> {
    if (url) await checkCallbackUrl(url, this.deps.config.webhooks.allowPrivateNetworks, 'callbackUrl');
  }
}

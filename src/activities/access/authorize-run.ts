// The worker's side of the access model: before a run touches a database or a target, the user it
// runs for (`requestedBy`) must still exist, be enabled and hold every permission the run needs,
// computed from the run's own input (src/control/run-needs.ts) exactly as the API computed them.
// A run started straight on Temporal, or a schedule whose owner lost a permission, stops here.
import { ApplicationFailure } from '@temporalio/activity';
import type { DbferryConfig } from '../../config/schema.ts';
import { PermissionStore } from '../../control/permissions.ts';
import { describeRefusal } from '../../control/policy.ts';
import { runNeeds, type RunInput } from '../../control/run-needs.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { manifestKeyFor } from '../../workflows/backup/contracts.ts';
import { listPhysicalManifests } from '../catalog/physical-manifests.ts';
import { parseManifest } from '../catalog/manifests.ts';
import type { MysqlPools } from '../mysql/pools.ts';
import type { BackupStores } from '../storage/stores.ts';
import { storageActivityFailure, targetStore } from '../storage/streams.ts';
import { PermanentStorageError } from '../storage/store.ts';

/** What a workflow hands over: its type, the user it runs for and the parts of its input that name resources. */
export type AuthorizeRunInput = { requestedBy: string } & (
  | { workflow: 'copyDatabase'; source: DatabaseRef; destination: DatabaseRef }
  | { workflow: 'backupDatabase'; source: DatabaseRef; target: string }
  | { workflow: 'restoreBackup'; target: string; key: string; destination: DatabaseRef }
  | { workflow: 'physicalBackup'; connection: string; target: string }
  | { workflow: 'restoreChain'; target: string; backupId: string | null; connection: string | null; destination: DatabaseRef | null }
  | { workflow: 'sanitizedPull'; profile: string }
);

export interface AccessDeps {
  config: DbferryConfig;
  pools: MysqlPools;
  stores: BackupStores;
}

/** A missing object, as a file target (ENOENT) or S3 (NoSuchKey) says it. */
const isNotFound = (error: unknown): boolean => {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  return e?.code === 'ENOENT' || e?.code === 'NoSuchKey' || (error instanceof PermanentStorageError && error.code === 'NoSuchKey');
};

const refuse = (message: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, 'PermissionDenied');

export function createAccessActivities(deps: AccessDeps) {
  const { config } = deps;
  let permissions: PermissionStore | null = null;
  const store = (): PermissionStore =>
    (permissions ??= new PermissionStore(deps.pools.get(config.control.connection), config.control.database));

  /** The run's needs, with what only the storage knows: the connection a restored backup came from. */
  async function needsOf(input: AuthorizeRunInput): Promise<RunInput> {
    switch (input.workflow) {
      case 'restoreBackup': {
        try {
          const target = targetStore(deps.stores, input.target);
          const manifest = parseManifest(await target.getJson(manifestKeyFor(input.key)), `${target.url}/${manifestKeyFor(input.key)}`);
          return { ...input, backupSource: manifest.source.connection };
        } catch (error) {
          // No manifest, no backup: the restore's own validation refuses it, naming what is missing.
          if (isNotFound(error)) return { ...input, backupSource: null };
          throw storageActivityFailure(error);
        }
      }
      case 'restoreChain': {
        if (input.connection) return { ...input, pieceSources: [input.connection] };
        try {
          const { manifests } = await listPhysicalManifests(targetStore(deps.stores, input.target), 'physical-');
          const piece = manifests.find((m) => m.id === input.backupId);
          // An unknown piece is refused by the chain's own resolution, which names it.
          return { ...input, pieceSources: piece ? [piece.source.connection] : [] };
        } catch (error) {
          throw storageActivityFailure(error);
        }
      }
      case 'sanitizedPull': {
        const profile = Object.hasOwn(config.pulls, input.profile) ? config.pulls[input.profile] : undefined;
        if (!profile) throw refuse(`no pull profile named "${input.profile}" in this worker's config`);
        return { workflow: 'sanitizedPull', source: profile.source.connection, destination: profile.destination.connection };
      }
      default:
        return input;
    }
  }

  return {
    /** Refuses (non-retryable PermissionDenied) a run whose user may not do what it asks. */
    async authorizeRun(input: AuthorizeRunInput): Promise<void> {
      const needs = runNeeds(await needsOf(input));
      const refusal = await store().refusal(input.requestedBy, needs);
      if (!refusal) return;
      if (!refusal.need) throw refuse(`the run's user cannot be checked: ${refusal.reason}`);
      const said = describeRefusal(input.requestedBy, refusal.need);
      throw refuse(refusal.reason === 'no permission' ? said : `${said}: ${refusal.reason}`);
    },
  };
}

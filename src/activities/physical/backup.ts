// Physical backup activities (mariabackup for MariaDB, xtrabackup for MySQL): thin wrappers over
// the pre-flight (validate-backup.ts) and the streamed backup (stream-backup.ts), plus the manifest,
// cleanup and chain-aware retention.
import { rm } from 'node:fs/promises';
import { manifestKeyFor, type RetentionPolicy } from '../../workflows/backup/contracts.ts';
import type { PhysicalBackupManifest } from '../../workflows/physical/contracts.ts';
import { listPhysicalManifests } from '../catalog/physical-manifests.ts';
import { storageActivityFailure, targetStore } from '../storage/streams.ts';
import { killOrphanedTool } from '../tools/tools.ts';
import type { PhysicalDeps } from './index.ts';
import { selectPhysicalBackupsToDelete } from './chain.ts';
import { physicalScratch, streamPhysicalBackup, type StreamPhysicalBackupInput, type StreamPhysicalBackupOutput } from './stream-backup.ts';
import { refuse, validatePhysicalBackup, type ValidatePhysicalBackupInput, type ValidatePhysicalBackupOutput } from './validate-backup.ts';

export type { StreamPhysicalBackupInput, StreamPhysicalBackupOutput, ValidatePhysicalBackupInput, ValidatePhysicalBackupOutput };

export function createPhysicalBackupActivities(deps: PhysicalDeps) {
  const store = (target: string) => targetStore(deps.stores, target);

  return {
    /**
     * Seed 004's validator: the tool is installed and matches the server's release series, the
     * credentials work, the datadir is readable by this worker (it must run on the database host),
     * the target answers, and an incremental has an intact chain to build on. Each failure is a
     * non-retryable error that says what to fix.
     */
    async validatePhysicalBackup(input: ValidatePhysicalBackupInput): Promise<ValidatePhysicalBackupOutput> {
      return validatePhysicalBackup(deps, input);
    },

    /**
     * Runs the backup tool with `--stream=xbstream` and streams its output, compressed, into the
     * target under `key` (atomic: a failed run leaves nothing). The LSNs come from
     * `--extra-lsndir`; an incremental that the tool did not take from the asked LSN is refused.
     */
    async streamPhysicalBackup(input: StreamPhysicalBackupInput): Promise<StreamPhysicalBackupOutput> {
      return streamPhysicalBackup(deps, input);
    },

    /** Writes the manifest beside the stored piece, once its object is there with the right size. */
    async writePhysicalManifest({ manifest }: { manifest: PhysicalBackupManifest }): Promise<void> {
      const target = store(manifest.target);
      try {
        const stored = await target.head(manifest.key);
        if (stored?.size !== manifest.size)
          throw refuse(`${target.url}/${manifest.key} holds ${stored?.size ?? 'no'} bytes, expected ${manifest.size}`, 'BackupMissing');
        await target.putJson(manifestKeyFor(manifest.key), manifest);
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },

    /** Removes what a failed or cancelled physical backup stored, unless a manifest there is another backup's. */
    async discardPhysicalBackup({ target, key, backupId }: { target: string; key: string; backupId: string }): Promise<void> {
      const where = store(target);
      try {
        if (await where.head(manifestKeyFor(key))) {
          const owner = (await where.getJson(manifestKeyFor(key)).catch(() => null)) as { id?: unknown } | null;
          if (owner?.id !== backupId) return;
        }
        await where.delete([manifestKeyFor(key), key]);
        await where.removeIncompleteUploads(key);
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },

    /** Kills a backup tool a dead attempt left running and removes the scratch directory. */
    async removePhysicalScratch({ backupId }: { backupId: string }): Promise<void> {
      const paths = physicalScratch(deps.config.workDir, backupId);
      await killOrphanedTool(paths.pidFile);
      await rm(paths.root, { recursive: true, force: true });
    },

    /**
     * Deletes the physical backups of this connection (and schedule) the policy lets go, never a
     * piece that a kept incremental is built on, nor `keep`. Objects first, manifests last.
     */
    async applyPhysicalRetention(input: {
      target: string;
      connection: string;
      scheduleId: string | null;
      retention: RetentionPolicy;
      keep: string;
    }): Promise<{ deleted: string[] }> {
      try {
        const target = store(input.target);
        const { manifests } = await listPhysicalManifests(target, `physical-${input.connection}/`);
        const mine = manifests.filter((m) => m.source.connection === input.connection);
        // Dependencies cross schedules (an on-demand incremental may sit on a scheduled full): the
        // policy looks at this schedule's pieces, the dependency closure at all of them.
        const scheduled = mine.filter((m) => m.scheduleId === input.scheduleId);
        const others = mine.filter((m) => m.scheduleId !== input.scheduleId).map((m) => m.id);
        const keepId = mine.find((m) => m.key === input.keep)?.id;
        const doomed = selectPhysicalBackupsToDelete(mine, input.retention, new Date(), [...others, ...(keepId ? [keepId] : [])]).filter(
          (m) => scheduled.includes(m) && m.key !== input.keep,
        );
        await target.delete(doomed.map((m) => m.key));
        await target.delete(doomed.map((m) => manifestKeyFor(m.key)));
        return { deleted: doomed.map((m) => m.key) };
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },
  };
}

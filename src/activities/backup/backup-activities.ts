// Logical backup activities: validate, stream the dump into the target (dump-to-store.ts does the
// streaming), write the manifest that makes it a backup, and clean up after a failed run.
import { rm } from 'node:fs/promises';
import type { RowDataPacket } from 'mysql2/promise';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { manifestKeyFor, type BackupCompression, type BackupFormat, type BackupManifest } from '../../workflows/backup/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import type { ActivityDeps } from '../deps.ts';
import { databaseCharset, estimateDatabaseBytes } from '../mysql/databases.ts';
import { storageActivityFailure, targetStore } from '../storage/streams.ts';
import { findSourceProblem } from '../../shared/copy-rules.ts';
import { killOrphanedTool, toolVersion } from '../tools/tools.ts';
import { backupPidFile, backupScratchDir, mydumperToStore, mysqldumpToStore } from './dump-to-store.ts';

export interface StreamBackupInput {
  backupId: string;
  source: DatabaseRef;
  target: string;
  /** Object key inside the target, chosen by the workflow so every attempt writes the same one. */
  key: string;
  format: BackupFormat;
  compression: BackupCompression;
  threads: number;
}
/** Everything the manifest needs that only the dump knows. */
export interface StreamBackupOutput {
  key: string;
  size: number;
  sha256: string;
  tool: { name: string; version: string };
  server: { version: string };
  tables: Array<{ table: string; rows: number }>;
  database: { charset: string; collation: string };
}

export function createBackupActivities(deps: Pick<ActivityDeps, 'config' | 'pools' | 'stores'>) {
  const store = (target: string) => targetStore(deps.stores, target);

  return {
    /** Refuses a backup that cannot run (unknown source or target, missing database) before any tool starts. */
    async validateBackup({ source, target }: { source: DatabaseRef; target: string }): Promise<void> {
      const problem = findSourceProblem(deps.config, source);
      if (problem) {
        throw ApplicationFailure.nonRetryable(
          `${problem.field}: ${problem.message}`,
          problem.kind === 'forbidden' ? 'SourceForbidden' : 'InvalidRequest',
        );
      }
      const pool = (() => {
        try {
          return deps.pools.get(source.connection);
        } catch (error) {
          throw ApplicationFailure.nonRetryable((error as Error).message, 'InvalidRequest');
        }
      })();
      await databaseCharset(pool, source.database); // DatabaseNotFound when it is missing
      // Reaching the target now fails a missing bucket or bad credentials before the dump starts.
      try {
        for await (const _ of store(target).list(`${source.database}/`)) break;
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },

    /**
     * Dumps the source and streams it, compressed, into the target under `key`. The upload is
     * atomic: a failed or cancelled run leaves no object and no pending multipart upload.
     */
    async streamBackupToTarget(input: StreamBackupInput): Promise<StreamBackupOutput> {
      const ctx = Context.current();
      const target = store(input.target);
      // Two backups of one database in the same second would share a key; never overwrite one.
      // A retry may find its own earlier attempt's object (committed just before a crash): that one is ours.
      try {
        if (ctx.info.attempt === 1) {
          const taken = await Promise.all([target.head(input.key), target.head(manifestKeyFor(input.key))]);
          if (taken.some(Boolean))
            throw ApplicationFailure.nonRetryable(
              `${target.url}/${input.key} already exists; not overwriting another backup`,
              'BackupKeyTaken',
            );
        } else {
          // An earlier attempt's worker may have died mid-upload, leaving its parts behind.
          await target.removeIncompleteUploads(input.key);
        }
      } catch (error) {
        throw storageActivityFailure(error);
      }
      const pool = deps.pools.get(input.source.connection);
      const [database, estimate, [versionRows]] = await Promise.all([
        databaseCharset(pool, input.source.database),
        estimateDatabaseBytes(pool, input.source.database),
        pool.query<RowDataPacket[]>('SELECT VERSION() AS v'),
      ]);
      const uploaded =
        input.format === 'mysqldump'
          ? await mysqldumpToStore(deps, input, target, Math.max(1, estimate))
          : await mydumperToStore(deps, input, target, Math.max(1, estimate));
      return {
        key: input.key,
        size: uploaded.size,
        sha256: uploaded.sha256,
        tool: { name: input.format, version: await toolVersion(input.format) },
        server: { version: String(versionRows[0]?.v ?? 'unknown') },
        tables: uploaded.tables,
        database,
      };
    },

    /** Writes the manifest beside a stored backup: the last step, which makes the object a backup. */
    async writeBackupManifest({ manifest }: { manifest: BackupManifest }): Promise<void> {
      const target = store(manifest.target);
      try {
        const stored = await target.head(manifest.key);
        if (stored?.size !== manifest.size) {
          throw ApplicationFailure.nonRetryable(
            `${target.url}/${manifest.key} holds ${stored?.size ?? 'no'} bytes, expected ${manifest.size}`,
            'BackupMissing',
          );
        }
        await target.putJson(manifestKeyFor(manifest.key), manifest);
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },

    /**
     * Removes what a failed or cancelled backup may have stored (its object and manifest, parts of
     * an unfinished upload), unless the manifest there belongs to another backup.
     */
    async discardBackup({ target, key, backupId }: { target: string; key: string; backupId: string }): Promise<{ deleted: boolean }> {
      const where = store(target);
      try {
        if (await where.head(manifestKeyFor(key))) {
          const owner = (await where.getJson(manifestKeyFor(key)).catch(() => null)) as { id?: unknown } | null;
          if (owner?.id !== backupId) return { deleted: false };
        }
        await where.delete([manifestKeyFor(key), key]);
        await where.removeIncompleteUploads(key); // left by a worker that died mid-upload
        return { deleted: true };
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },

    /** Removes a backup's scratch directory (mydumper), killing a mydumper an earlier attempt left running. */
    async removeBackupScratch({ backupId }: { backupId: string }): Promise<void> {
      await killOrphanedTool(backupPidFile(deps.config.workDir, backupId));
      await rm(backupScratchDir(deps.config.workDir, backupId), { recursive: true, force: true });
    },
  };
}

// Logical restore activities: validate against the manifest, verify the stored bytes, and load a
// mysqldump backup or unpack a mydumper one (myloader then loads it through the copy's loadDump).
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { BackupCompression, BackupManifest, RestoreWorkflowInput } from '../../workflows/backup/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { findDestinationProblem, findSameServerProblem } from '../../shared/copy-rules.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import { readManifest } from '../catalog/manifests.ts';
import { safeKey } from '../../config/targets.ts';
import { decompressor, hashingTap, rootApplicationFailure, storageActivityFailure, targetStore } from '../storage/streams.ts';
import type { ActivityDeps } from '../deps.ts';
import { dumpDirectoryFor } from '../copy/dumper.ts';
import { charsetName, emptyDestinationCharset } from '../mysql/databases.ts';
import { progressReporter, type ProgressReporter } from '../tools/progress.ts';
import { recreateSchemaObjectsIn, type SchemaObject } from '../mysql/schema-objects.ts';
import { SCHEMA_OBJECTS_FILE } from '../tools/dump-files.ts';
import { startTool, toolsFailure, withDefaultsFile, type ToolProcess } from '../tools/tools.ts';

export interface ValidateRestoreOutput {
  manifest: BackupManifest;
  /** The destination's character set when it already existed (empty), so cleanup can put it back as it was. */
  existingDestination: { charset: string; collation: string } | null;
}

/** Which bytes a restore expects: the manifest's checksum and size of the stored object. */
export interface StoredBackupRef {
  target: string;
  key: string;
  sha256: string;
  size: number;
  compression: BackupCompression;
}

const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);

const checksumMismatch = (where: string, actual: { sha256: string; bytes: number }, expected: StoredBackupRef): ApplicationFailure =>
  refuse(
    `checksum mismatch: ${where} has sha256 ${actual.sha256} (${actual.bytes} bytes) but its manifest says ${expected.sha256} (${expected.size} bytes); the backup is damaged`,
    'ChecksumMismatch',
  );

export function createRestoreActivities(deps: Pick<ActivityDeps, 'config' | 'pools' | 'stores'>) {
  const store = (target: string) => targetStore(deps.stores, target);

  /**
   * Streams the stored object through a sha256 tap into `sink` (a decompressor feeding a tool, or
   * nothing) and compares the checksum and size with the manifest's once everything has been read.
   * A failed download is reported as such; otherwise a tool's own error comes first.
   */
  async function streamVerified(
    ref: StoredBackupRef,
    sink: (signal: AbortSignal) => { tools: ToolProcess[]; streams: Writable[] },
    report: ProgressReporter,
    /** The part of the phase this step is: extraction is the first fifth of a mydumper restore's load. */
    share = 1,
  ) {
    const ctx = Context.current();
    const target = store(ref.target);
    const local = new AbortController();
    const signal = AbortSignal.any([ctx.cancellationSignal, local.signal]);
    const tap = hashingTap();
    let tools: ToolProcess[] = [];
    let downloadError: unknown;
    try {
      await report.whileSampling(
        async () => {
          const download = await target.download(ref.key, { signal });
          download.once('error', (error) => (downloadError ??= error));
          const { tools: started, streams } = sink(signal);
          tools = started;
          await pipeline([download, tap, ...streams]);
          await Promise.all(tools.map((t) => t.done));
        },
        () => share * Math.min(0.99, tap.bytes / Math.max(1, ref.size)),
      );
    } catch (error) {
      if (ctx.cancellationSignal.aborted) throw error;
      if (downloadError) throw storageActivityFailure(downloadError);
      throw rootApplicationFailure(error) ?? (await toolsFailure(tools)) ?? storageActivityFailure(error);
    } finally {
      local.abort(new Error('restore step finished'));
      await Promise.allSettled(tools.map((t) => t.done));
    }
    const actual = { sha256: tap.digest(), bytes: tap.bytes };
    if (actual.sha256 !== ref.sha256 || actual.bytes !== ref.size) throw checksumMismatch(`${target.url}/${ref.key}`, actual, ref);
  }

  /** Drops (when asked, or on a retry) and creates the destination with the backup's character set. */
  async function prepareDestination(
    destination: DatabaseRef,
    dropFirst: boolean,
    database: { charset: string; collation: string },
  ): Promise<void> {
    const pool = deps.pools.get(destination.connection);
    const name = quoteIdentifier(destination.database);
    if (dropFirst || Context.current().info.attempt > 1) await pool.query(`DROP DATABASE IF EXISTS ${name}`);
    await pool.query(
      `CREATE DATABASE IF NOT EXISTS ${name} CHARACTER SET ${charsetName(database.charset)} COLLATE ${charsetName(database.collation)}`,
    );
  }

  return {
    /** Reads the backup's manifest and refuses a restore that cannot or must not run, before touching anything. */
    async validateRestore(input: RestoreWorkflowInput): Promise<ValidateRestoreOutput> {
      const servers = deps.pools.servers;
      const problem =
        findDestinationProblem(deps.config, input.destination) ??
        (await findSameServerProblem(deps.config, (a, b) => servers.same(a, b), { destination: input.destination }));
      if (problem)
        throw refuse(`${problem.field}: ${problem.message}`, problem.kind === 'forbidden' ? 'DestinationForbidden' : 'InvalidRequest');
      let manifest: BackupManifest;
      try {
        safeKey(input.key, 'key');
        manifest = await readManifest(store(input.target), input.key);
      } catch (error) {
        const failure = storageActivityFailure(error);
        if (failure instanceof ApplicationFailure && failure.type === 'NoSuchKey') {
          throw refuse(`no backup at ${store(input.target).url}/${input.key} (its manifest is missing)`, 'BackupNotFound');
        }
        throw failure;
      }
      if (manifest.key !== input.key) throw refuse(`the manifest of ${input.key} describes ${manifest.key}`, 'InvalidManifest');
      const pool = deps.pools.get(input.destination.connection);
      return { manifest, existingDestination: await emptyDestinationCharset(pool, input.destination.database, input.recreateDestination) };
    },

    /**
     * Reads the whole stored object once and compares its sha256 and size with the manifest, so a
     * damaged backup is refused before the destination is touched.
     */
    async verifyBackupChecksum(ref: StoredBackupRef): Promise<void> {
      const report = progressReporter('verifying-checksum');
      report(0);
      const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
      await streamVerified(ref, () => ({ tools: [], streams: [discard] }), report);
      report(1);
    },

    /** Loads a mysqldump backup: download → sha256 → decompress → mysql, streaming, nothing on disk. */
    async loadSqlBackup(
      input: StoredBackupRef & {
        destination: DatabaseRef;
        dropDestinationFirst: boolean;
        database: { charset: string; collation: string };
      },
    ): Promise<void> {
      const { destination } = input;
      await prepareDestination(destination, input.dropDestinationFirst, input.database);
      const report = progressReporter('loading');
      report(0);
      await withDefaultsFile(deps.config.workDir, destination.connection, deps.pools.connection(destination.connection), (cnf) =>
        streamVerified(
          input,
          (signal) => {
            const decompress = decompressor(input.compression, signal);
            // --binary-mode: only DELIMITER is a client command, so no byte of the data is taken for one.
            const mysql = startTool(
              'mysql',
              [
                `--defaults-file=${cnf}`,
                '--binary-mode',
                '--default-character-set=utf8mb4',
                '--max-allowed-packet=1G',
                destination.database,
              ],
              { signal, stdin: 'pipe', stdout: 'ignore' },
            );
            return { tools: [...decompress.tools, mysql], streams: [decompress.stream, mysql.stdin!] };
          },
          report,
        ),
      );
      report(1);
    },

    /** Unpacks a mydumper backup into the restore's dump directory, verifying the sha256 on the way. */
    async extractBackup(input: StoredBackupRef & { restoreId: string }): Promise<{ dumpDir: string }> {
      const dir = dumpDirectoryFor(deps.config.workDir, input.restoreId);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const report = progressReporter('loading');
      report(0);
      // Extraction is the first fifth of the load budget; myloader's progress takes over from there.
      await streamVerified(
        input,
        (signal) => {
          const decompress = decompressor(input.compression, signal);
          const tar = startTool('tar', ['-C', dir, '--no-same-owner', '--no-same-permissions', '-xf', '-'], {
            signal,
            stdin: 'pipe',
            stdout: 'ignore',
          });
          return { tools: [...decompress.tools, tar], streams: [decompress.stream, tar.stdin!] };
        },
        report,
        0.2,
      );
      // A mydumper backup is a flat directory of regular files; anything else (links, devices,
      // subdirectories) did not come from dbferry and is not given to myloader.
      for (const name of await readdir(dir)) {
        if (!(await lstat(join(dir, name))).isFile())
          throw refuse(`backup ${input.key} holds ${JSON.stringify(name)}, which is not a regular file`, 'InvalidBackup');
      }
      return { dumpDir: dir };
    },

    /** Recreates routines, triggers and events from the copy of them a mydumper backup carries. */
    async recreateSchemaObjectsFromDump({
      destination,
      dumpDir,
    }: {
      destination: DatabaseRef;
      dumpDir: string;
    }): Promise<{ recreated: number }> {
      const text = await readFile(join(dumpDir, SCHEMA_OBJECTS_FILE), 'utf8').catch(() => null);
      if (text === null) return { recreated: 0 }; // not a dbferry backup: myloader's versions stay
      const objects = JSON.parse(text) as SchemaObject[];
      await recreateSchemaObjectsIn(deps.pools.get(destination.connection), destination.database, objects);
      return { recreated: objects.length };
    },
  };
}

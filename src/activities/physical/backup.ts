// Physical backups (mariabackup for MariaDB, xtrabackup for MySQL): pre-flight checks, the streamed
// backup (tool → count → compress → upload, nothing kept locally), its manifest, chain-aware retention.
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RowDataPacket } from 'mysql2/promise';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { manifestKeyFor, type BackupCompression, type RetentionPolicy } from '../../workflows/backup/contracts.ts';
import { physicalProgressSignal } from '../../workflows/physical/messages.ts';
import type { BinlogPosition, PhysicalBackupManifest, PhysicalKind, PhysicalTool } from '../../workflows/physical/contracts.ts';
import { resolveChain, ChainError, selectPhysicalBackupsToDelete } from './chain.ts';
import { parseBinlogFromInfo, parseCheckpoints, serverVersionFromInfo } from './checkpoints.ts';
import { backupArgs } from './commands.ts';
import { listPhysicalManifests } from '../catalog/physical-manifests.ts';
import { missingBackupPrivileges } from './privileges.ts';
import { toolCommandsFor, toolCompatibilityProblem, type Flavor } from './version.ts';
import type { BackupStore } from '../storage/store.ts';
import { searchAttributes } from '../../shared/temporal.ts';
import { compressor, countingTap, rootApplicationFailure, storageActivityFailure } from '../storage/streams.ts';
import type { ActivityDeps } from '../deps.ts';
import { killOrphan, requireTool } from '../tools/physical-tools.ts';
import { PROGRESS_INTERVAL_MS, progressReporter } from '../tools/progress.ts';
import { endWhenToolsSucceed, startPipedTools } from '../tools/tool-process.ts';
import { withDefaultsFile } from '../tools/tools.ts';

export interface ValidatePhysicalBackupInput {
  connection: string;
  target: string;
  kind: PhysicalKind;
  parentId: string | null;
}
export interface ValidatePhysicalBackupOutput {
  flavor: Flavor;
  /** The datadir to pass to the tool when the config names one. */
  datadir: string | null;
  /** Files in the datadir, for progress (the tool logs each one it copies). */
  fileCount: number;
  parent: { id: string; chainId: string; toLsn: string } | null;
}

export interface StreamPhysicalBackupInput {
  backupId: string;
  connection: string;
  target: string;
  key: string;
  kind: PhysicalKind;
  compression: BackupCompression;
  threads: number;
  flavor: Flavor;
  datadir: string | null;
  fileCount: number;
  /** The parent's to_lsn for an incremental. */
  incrementalLsn: string | null;
}
export interface StreamPhysicalBackupOutput {
  key: string;
  size: number;
  sha256: string;
  streamBytes: number;
  fromLsn: string;
  toLsn: string;
  binlog: BinlogPosition | null;
  tool: { name: PhysicalTool; version: string };
  server: { version: string; flavor: Flavor };
}

const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);
const ORPHAN = /mariabackup|mariadb-backup|xtrabackup/;

/** Files under a directory, counted (not read), for progress. */
async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) if (entry.isFile()) count++;
  return count;
}

/** The InnoDB log sequence number the server is at now (SHOW ENGINE INNODB STATUS). */
async function currentLsn(rows: RowDataPacket[]): Promise<bigint | null> {
  const m = /Log sequence number\s+(\d+)/.exec(String(rows[0]?.Status ?? ''));
  return m ? BigInt(m[1]!) : null;
}

/**
 * Scheduled runs carry a timestamp in their workflow id, so the id alone does not keep two physical
 * backups of one server apart (a plan's full and incremental firing together): the later one yields.
 */
async function refuseIfAnotherRuns(connection: string): Promise<void> {
  const ctx = Context.current();
  const self = ctx.info.workflowExecution;
  if (!self || !/^[A-Za-z0-9_-]+$/.test(connection)) return;
  const query = `WorkflowType = 'physicalBackup' AND ExecutionStatus = 'Running' AND ${searchAttributes.source.name} = '${connection}'`;
  const mine = await ctx.client.workflow.getHandle(self.workflowId, self.runId).describe();
  for await (const other of ctx.client.workflow.list({ query })) {
    if (other.runId === self.runId || other.startTime >= mine.startTime) continue;
    // Visibility lags; the execution itself says whether it still runs.
    const still = await ctx.client.workflow.getHandle(other.workflowId, other.runId).describe();
    if (still.status.name === 'RUNNING') {
      throw refuse(`another physical backup of ${connection} is running (${other.workflowId}); this one is skipped`, 'BackupRunning');
    }
  }
}

const UNITS: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };
/**
 * The input size from zstd -v's closing line (`/*stdin*\\ : 24.11% ( 1.17 GiB => 289 MiB, /*stdout*\\)`),
 * to three significant digits: enough for the free-space estimate it feeds.
 */
export function zstdInputBytes(line: string): number | null {
  const m = /:\s*[\d.]+%\s*\(\s*([\d.]+)\s*(B|KiB|MiB|GiB|TiB)\s*=>/.exec(line);
  return m ? Math.round(Number(m[1]) * UNITS[m[2]!]!) : null;
}

export function createPhysicalBackupActivities(deps: ActivityDeps) {
  const scratchDir = (backupId: string): string => join(deps.config.workDir, `physical-${backupId}`);
  const store = (target: string): BackupStore => {
    try {
      return deps.stores.get(target);
    } catch (error) {
      throw storageActivityFailure(error);
    }
  };
  const connectionConfig = (name: string) => {
    try {
      return deps.pools.connection(name);
    } catch (error) {
      throw refuse((error as Error).message, 'InvalidRequest');
    }
  };

  return {
    /**
     * Seed 004's validator: the tool is installed and matches the server's release series, the
     * credentials work, the datadir is readable by this worker (it must run on the database host),
     * the target answers, and an incremental has an intact chain to build on. Each failure is a
     * non-retryable error that says what to fix.
     */
    async validatePhysicalBackup(input: ValidatePhysicalBackupInput): Promise<ValidatePhysicalBackupOutput> {
      const conn = connectionConfig(input.connection);
      await refuseIfAnotherRuns(input.connection);
      const tools = toolCommandsFor(conn.flavor);
      const pkg = conn.flavor === 'mariadb' ? 'the mariadb-backup package' : 'Percona XtraBackup';
      const toolVersion = await requireTool(tools.backup, pkg);
      await requireTool(tools.extract, pkg);
      const pool = deps.pools.get(input.connection);
      let version: string;
      let serverDatadir: string;
      try {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT VERSION() AS v, @@datadir AS d');
        version = String(rows[0]?.v);
        serverDatadir = String(rows[0]?.d);
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (/ACCESS_DENIED/.test(code))
          throw refuse(
            `connection ${input.connection}: the server refused the credentials (${(error as Error).message})`,
            'AuthenticationFailed',
          );
        throw error; // unreachable server: worth retrying
      }
      const problem = toolCompatibilityProblem(conn.flavor, toolVersion, version);
      if (problem) throw refuse(`connection ${input.connection}: ${problem}`, 'ToolIncompatible');
      const [grants] = await pool.query<RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
      const missing = missingBackupPrivileges(
        grants.map((row) => String(Object.values(row)[0])),
        conn.flavor,
      );
      if (missing?.length) {
        throw refuse(
          `connection ${input.connection}: the user lacks ${missing.join(', ')} on *.*, which ${tools.backup} needs (GRANT ${missing.join(', ')} ON *.* TO …)`,
          'PermissionDenied',
        );
      }

      const datadir = conn.datadir ?? serverDatadir;
      try {
        await access(datadir, constants.R_OK | constants.X_OK);
        await readdir(datadir);
      } catch (error) {
        throw refuse(
          `connection ${input.connection}: the datadir ${datadir} is not readable by this worker (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); physical backups need the worker on the database host, as a user that can read the datadir (set connections.${input.connection}.datadir if the path differs)`,
          'DatadirUnreadable',
        );
      }

      const target = store(input.target);
      let manifests: PhysicalBackupManifest[];
      try {
        ({ manifests } = await listPhysicalManifests(target, `physical-${input.connection}/`));
      } catch (error) {
        throw storageActivityFailure(error);
      }
      let parent: ValidatePhysicalBackupOutput['parent'] = null;
      if (input.kind === 'physical-incremental') {
        const mine = manifests.filter((m) => m.source.connection === input.connection);
        const chosen = input.parentId
          ? mine.find((m) => m.id === input.parentId)
          : mine.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : -1))[0];
        if (!chosen) {
          throw refuse(
            input.parentId
              ? `no physical backup ${input.parentId} of ${input.connection} in target ${input.target} to build an incremental on`
              : `no physical backup of ${input.connection} in target ${input.target} yet: take a full backup first`,
            'NoParentBackup',
          );
        }
        try {
          resolveChain(manifests, { backupId: chosen.id });
        } catch (error) {
          if (error instanceof ChainError) throw refuse(`${error.message}; take a new full backup`, 'ChainBroken');
          throw error;
        }
        const [status] = await pool.query<RowDataPacket[]>('SHOW ENGINE INNODB STATUS');
        const lsn = await currentLsn(status);
        if (lsn !== null && lsn < BigInt(chosen.toLsn)) {
          throw refuse(
            `the server's LSN ${lsn} is behind ${chosen.id}'s to_lsn ${chosen.toLsn}: the server was rebuilt or restored since; take a new full backup`,
            'ServerChanged',
          );
        }
        parent = { id: chosen.id, chainId: chosen.chainId, toLsn: chosen.toLsn };
      }
      return { flavor: conn.flavor, datadir: conn.datadir ?? null, fileCount: Math.max(1, await countFiles(datadir)), parent };
    },

    /**
     * Runs the backup tool with `--stream=xbstream` and streams its output, compressed, into the
     * target under `key` (atomic: a failed run leaves nothing). The LSNs come from
     * `--extra-lsndir`; an incremental that the tool did not take from the asked LSN is refused.
     */
    async streamPhysicalBackup(input: StreamPhysicalBackupInput): Promise<StreamPhysicalBackupOutput> {
      const ctx = Context.current();
      const target = store(input.target);
      try {
        if (ctx.info.attempt === 1) {
          const taken = await Promise.all([target.head(input.key), target.head(manifestKeyFor(input.key))]);
          if (taken.some(Boolean))
            throw refuse(`${target.url}/${input.key} already exists; not overwriting another backup`, 'BackupKeyTaken');
        } else {
          await target.removeIncompleteUploads(input.key);
        }
      } catch (error) {
        throw storageActivityFailure(error);
      }
      const conn = connectionConfig(input.connection);
      const tools = toolCommandsFor(input.flavor);
      const toolVersion = await requireTool(tools.backup, tools.backup);
      const dir = scratchDir(input.backupId);
      const pidFile = `${dir}.backup.pid`;
      await killOrphan(pidFile, ORPHAN);
      await rm(dir, { recursive: true, force: true });
      const workDir = join(dir, 'tool');
      const lsnDir = join(dir, 'lsn');
      await mkdir(workDir, { recursive: true, mode: 0o700 });
      await mkdir(lsnDir, { recursive: true, mode: 0o700 });
      try {
        const local = new AbortController();
        const signal = AbortSignal.any([ctx.cancellationSignal, local.signal]);
        let copied = 0;
        const report = progressReporter(physicalProgressSignal, 'streaming');
        report(0);
        const uploaded = await withDefaultsFile(deps.config.workDir, input.connection, conn, async (cnf) => {
          const args = backupArgs({
            defaultsFile: cnf,
            targetDir: workDir,
            lsnDir,
            incrementalLsn: input.incrementalLsn,
            parallel: input.threads,
            datadir: input.datadir,
          });
          const countDone = (line: string) => {
            if (/\.\.\.done$/.test(line)) copied++;
          };
          // mariabackup → zstd as a kernel pipe: the uncompressed stream never passes through the
          // worker (bench:physical's full backup step: 4.3 s → 3.2 s); zstd -v reports the stream's
          // size at the end, which restores use to check free space.
          let streamBytes = 0;
          const backupStage = { command: tools.backup, args, pidFile, onStderrLine: countDone };
          const zstdStage = {
            command: 'zstd',
            args: ['-T0', '-3', '-c', '-v', '--no-progress'],
            onStderrLine: (line: string) => {
              const size = zstdInputBytes(line);
              if (size !== null) streamBytes = size;
              return !(size !== null || /^Note: /.test(line) || /^\*\*\* Zstandard/.test(line));
            },
          };
          const piped = startPipedTools(input.compression === 'zstd' ? [backupStage, zstdStage] : [backupStage], { signal });
          const counted = countingTap();
          const compress = input.compression === 'zstd' ? null : compressor(input.compression, signal);
          const all = piped.tools;
          const backup = all[0]!;
          const gate = endWhenToolsSucceed(all);
          const flowing = compress ? pipeline(piped.stdout, counted, compress.stream, gate) : pipeline(piped.stdout, gate);
          flowing.catch(() => undefined);
          const timer = setInterval(() => report(Math.min(0.99, copied / input.fileCount)), PROGRESS_INTERVAL_MS);
          try {
            const result = await target.upload(input.key, gate, {
              signal: ctx.cancellationSignal,
              contentType: 'application/octet-stream',
            });
            await flowing;
            return { ...result, streamBytes: compress ? counted.bytes : streamBytes };
          } catch (error) {
            if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
            throw rootApplicationFailure(error) ?? rootApplicationFailure(backup.failure) ?? storageActivityFailure(error);
          } finally {
            clearInterval(timer);
            local.abort(new Error('backup finished'));
            await Promise.allSettled(all.map((t) => t.done));
          }
        });
        const checkpoints = parseCheckpoints(await readFile(join(lsnDir, 'xtrabackup_checkpoints'), 'utf8'));
        const info = await readFile(join(lsnDir, 'xtrabackup_info'), 'utf8').catch(() => '');
        // The WAL-G failure: an incremental that silently became a full. Refuse it instead.
        if (
          input.kind === 'physical-incremental' &&
          (checkpoints.backupType !== 'incremental' || checkpoints.fromLsn !== input.incrementalLsn)
        ) {
          throw refuse(
            `${tools.backup} took a ${checkpoints.backupType} backup from LSN ${checkpoints.fromLsn}, not an incremental from ${input.incrementalLsn}`,
            'NotIncremental',
          );
        }
        if (input.kind === 'physical-full' && checkpoints.backupType !== 'full-backuped') {
          throw refuse(`${tools.backup} reported backup_type ${checkpoints.backupType} for a full backup`, 'UnexpectedBackupType');
        }
        report(1);
        return {
          key: input.key,
          size: uploaded.size,
          sha256: uploaded.sha256,
          streamBytes: uploaded.streamBytes,
          fromLsn: checkpoints.fromLsn,
          toLsn: checkpoints.toLsn,
          binlog: parseBinlogFromInfo(info),
          tool: { name: tools.tool, version: toolVersion },
          server: { version: serverVersionFromInfo(info) ?? 'unknown', flavor: input.flavor },
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
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
      await killOrphan(`${scratchDir(backupId)}.backup.pid`, ORPHAN);
      await rm(scratchDir(backupId), { recursive: true, force: true });
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

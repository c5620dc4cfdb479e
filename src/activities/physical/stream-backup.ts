// The physical backup itself: mariabackup | zstd as a kernel pipe streamed into the target (nothing
// kept locally), the LSNs read from --extra-lsndir, and an incremental that was not one refused.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import { manifestKeyFor, type BackupCompression } from '../../workflows/backup/contracts.ts';
import type { BinlogPosition, PhysicalKind, PhysicalTool } from '../../workflows/physical/contracts.ts';
import { compressor, countingTap, rootApplicationFailure, storageActivityFailure, targetStore } from '../storage/streams.ts';
import { progressReporter, type ProgressReporter } from '../tools/progress.ts';
import { endWhenToolsSucceed, killOrphanedTool, startPipedTools, toolVersion, withDefaultsFile, type PipedStage } from '../tools/tools.ts';
import type { BackupStore } from '../storage/store.ts';
import { parseBinlogFromInfo, parseCheckpoints, serverVersionFromInfo } from './checkpoints.ts';
import { backupArgs } from './commands.ts';
import type { PhysicalDeps } from './index.ts';
import { physicalConnection, refuse } from './validate-backup.ts';
import { toolCommandsFor, type Flavor } from './version.ts';

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

/** The scratch directory of a physical backup (the tool's temporary files, the LSN files), and its tool's pid file. */
export const physicalScratch = (workDir: string, backupId: string) => {
  const root = join(workDir, `physical-${backupId}`);
  return { root, tool: join(root, 'tool'), lsn: join(root, 'lsn'), pidFile: `${root}.backup.pid` };
};

const UNITS: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };
/**
 * The input size from zstd -v's closing line (`/*stdin*\\ : 24.11% ( 1.17 GiB => 289 MiB, /*stdout*\\)`),
 * to three significant digits: enough for the free-space estimate it feeds.
 */
export function zstdInputBytes(line: string): number | null {
  const m = /:\s*[\d.]+%\s*\(\s*([\d.]+)\s*(B|KiB|MiB|GiB|TiB)\s*=>/.exec(line);
  return m ? Math.round(Number(m[1]) * UNITS[m[2]!]!) : null;
}

/** Refuses to overwrite another backup's key; a retry removes what its dead attempt left half-uploaded. */
async function claimKey(target: BackupStore, key: string): Promise<void> {
  try {
    if (Context.current().info.attempt === 1) {
      const taken = await Promise.all([target.head(key), target.head(manifestKeyFor(key))]);
      if (taken.some(Boolean)) throw refuse(`${target.url}/${key} already exists; not overwriting another backup`, 'BackupKeyTaken');
    } else {
      await target.removeIncompleteUploads(key);
    }
  } catch (error) {
    throw storageActivityFailure(error);
  }
}

/**
 * Runs the backup tool with `--stream=xbstream` and streams its output, compressed, into the
 * target under `key` (atomic: a failed run leaves nothing). The LSNs come from
 * `--extra-lsndir`; an incremental that the tool did not take from the asked LSN is refused.
 */
export async function streamPhysicalBackup(deps: PhysicalDeps, input: StreamPhysicalBackupInput): Promise<StreamPhysicalBackupOutput> {
  const target = targetStore(deps.stores, input.target);
  await claimKey(target, input.key);
  const conn = physicalConnection(deps, input.connection);
  const tools = toolCommandsFor(input.flavor);
  const version = await toolVersion(tools.backup);
  const paths = physicalScratch(deps.config.workDir, input.backupId);
  await killOrphanedTool(paths.pidFile);
  await rm(paths.root, { recursive: true, force: true });
  await mkdir(paths.tool, { recursive: true, mode: 0o700 });
  await mkdir(paths.lsn, { recursive: true, mode: 0o700 });
  try {
    const report = progressReporter('streaming');
    report(0);
    const uploaded = await withDefaultsFile(deps.config.workDir, input.connection, conn, (cnf) =>
      uploadBackupStream(
        input,
        target,
        backupArgs({
          defaultsFile: cnf,
          targetDir: paths.tool,
          lsnDir: paths.lsn,
          incrementalLsn: input.incrementalLsn,
          parallel: input.threads,
          datadir: input.datadir,
        }),
        { command: tools.backup, pidFile: paths.pidFile },
        report,
      ),
    );
    const checkpoints = parseCheckpoints(await readFile(join(paths.lsn, 'xtrabackup_checkpoints'), 'utf8'));
    const info = await readFile(join(paths.lsn, 'xtrabackup_info'), 'utf8').catch(() => '');
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
      tool: { name: tools.tool, version },
      server: { version: serverVersionFromInfo(info) ?? 'unknown', flavor: input.flavor },
    };
  } finally {
    await rm(paths.root, { recursive: true, force: true });
  }
}

/**
 * mariabackup → zstd as a kernel pipe: the uncompressed stream never passes through the worker
 * (bench:physical's full backup step: 4.3 s → 3.2 s); zstd -v reports the stream's size at the
 * end, which restores use to check free space. gzip is Node's zlib, counted on the way.
 */
async function uploadBackupStream(
  input: StreamPhysicalBackupInput,
  target: BackupStore,
  args: string[],
  tool: { command: string; pidFile: string },
  report: ProgressReporter,
) {
  const ctx = Context.current();
  const local = new AbortController();
  const signal = AbortSignal.any([ctx.cancellationSignal, local.signal]);
  let copied = 0;
  let streamBytes = 0;
  const backupStage: PipedStage = {
    ...tool,
    args,
    onStderrLine: (line) => {
      if (/\.\.\.done$/.test(line)) copied++;
    },
  };
  const zstdStage: PipedStage = {
    command: 'zstd',
    args: ['-T0', '-3', '-c', '-v', '--no-progress'],
    onStderrLine: (line) => {
      const size = zstdInputBytes(line);
      if (size !== null) streamBytes = size;
      return !(size !== null || /^Note: /.test(line) || /^\*\*\* Zstandard/.test(line));
    },
  };
  const piped = startPipedTools(input.compression === 'zstd' ? [backupStage, zstdStage] : [backupStage], { signal });
  const counted = countingTap();
  const compress = input.compression === 'zstd' ? null : compressor(input.compression, signal);
  const all = piped.tools;
  const gate = endWhenToolsSucceed(all);
  const flowing = compress ? pipeline(piped.stdout, counted, compress.stream, gate) : pipeline(piped.stdout, gate);
  flowing.catch(() => undefined);
  try {
    const result = await report.whileSampling(
      () => target.upload(input.key, gate, { signal: ctx.cancellationSignal, contentType: 'application/octet-stream' }),
      () => Math.min(0.99, copied / input.fileCount),
    );
    await flowing;
    return { ...result, streamBytes: compress ? counted.bytes : streamBytes };
  } catch (error) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    throw rootApplicationFailure(error) ?? rootApplicationFailure(all[0]!.failure) ?? storageActivityFailure(error);
  } finally {
    local.abort(new Error('backup finished'));
    await Promise.allSettled(all.map((t) => t.done));
  }
}

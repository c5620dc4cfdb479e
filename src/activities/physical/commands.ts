// Command lines for mariabackup / xtrabackup. Pure, so the flags that decide whether a chain
// restores (the WAL-G failures were a wrong prepare flag) are unit-tested. Credentials never appear
// here: the defaults file comes first, as both tools require.
import type { ToolCommands } from './version.ts';

export interface BackupCommandInput {
  defaultsFile: string;
  /** A scratch directory the tool needs even when streaming (it writes its temporary files there). */
  targetDir: string;
  /** Where xtrabackup_checkpoints and xtrabackup_info are also written, so the LSNs are read without parsing the stream. */
  lsnDir: string;
  /** The parent's to_lsn for an incremental; null for a full. */
  incrementalLsn: string | null;
  parallel: number;
  /** The server's datadir as the worker sees it, when the config names one. */
  datadir: string | null;
}

/** `--backup --stream=xbstream` to stdout; incrementals start at the parent's to_lsn (no local state needed). */
export function backupArgs(input: BackupCommandInput): string[] {
  if (input.incrementalLsn !== null && !/^\d+$/.test(input.incrementalLsn))
    throw new Error(`invalid LSN ${JSON.stringify(input.incrementalLsn)}`);
  return [
    `--defaults-file=${input.defaultsFile}`,
    '--backup',
    '--stream=xbstream',
    `--target-dir=${input.targetDir}`,
    `--extra-lsndir=${input.lsnDir}`,
    `--parallel=${Math.max(1, Math.floor(input.parallel))}`,
    ...(input.incrementalLsn === null ? [] : [`--incremental-lsn=${input.incrementalLsn}`]),
    ...(input.datadir ? [`--datadir=${input.datadir}`] : []),
  ];
}

/** `mbstream -x -C dir` / `xbstream -x -C dir`, reading the stream on stdin. */
export function extractArgs(dir: string): string[] {
  return ['-x', '-C', dir];
}

export interface PrepareStep {
  /** The prepared datadir (the base, updated in place). */
  baseDir: string;
  /** The incremental to apply; null to prepare the base itself. */
  incrementalDir: string | null;
  /** True for the last piece of the chain: xtrabackup may then roll back uncommitted transactions. */
  last: boolean;
}

/**
 * `--prepare` for one step. mariabackup (MariaDB 10.2+) needs nothing else: --apply-log-only is
 * neither needed nor supported. xtrabackup must skip the rollback (--apply-log-only) on every step
 * but the last, or the next incremental cannot be applied.
 */
export function prepareArgs(tools: ToolCommands, step: PrepareStep, useMemoryMb = 256): string[] {
  // --defaults-file must come first; /dev/null keeps /etc/my.cnf's server options out of the prepare.
  const args = ['--defaults-file=/dev/null', '--prepare', `--target-dir=${step.baseDir}`, `--use-memory=${useMemoryMb}M`];
  if (step.incrementalDir) args.push(`--incremental-dir=${step.incrementalDir}`);
  if (tools.tool === 'xtrabackup' && !step.last) args.push('--apply-log-only');
  return args;
}

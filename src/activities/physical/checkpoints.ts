// Reading the small text files mariabackup/xtrabackup write beside a backup
// (`xtrabackup_checkpoints`, `xtrabackup_info`, `mariadb_backup_binlog_info`). Pure: callers read
// the files; a file that does not say what a chain needs is refused here, by name.
import type { BinlogPosition } from '../../workflows/physical/contracts.ts';

export interface Checkpoints {
  backupType: string;
  fromLsn: string;
  toLsn: string;
  lastLsn: string | null;
}

export class BackupMetadataError extends Error {
  override name = 'BackupMetadataError';
}

/** `key = value` lines into a map (both sides trimmed). */
export function parseKeyValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return values;
}

const LSN = /^\d{1,20}$/;

/** xtrabackup_checkpoints: backup_type, from_lsn, to_lsn (and last_lsn). */
export function parseCheckpoints(text: string): Checkpoints {
  const values = parseKeyValues(text);
  const lsn = (key: string): string => {
    const value = values.get(key);
    if (value === undefined || !LSN.test(value))
      throw new BackupMetadataError(
        `xtrabackup_checkpoints: ${key} is ${value === undefined ? 'missing' : JSON.stringify(value)}, expected a decimal LSN`,
      );
    return BigInt(value).toString();
  };
  const backupType = values.get('backup_type');
  if (!backupType) throw new BackupMetadataError('xtrabackup_checkpoints: backup_type is missing');
  const last = values.get('last_lsn');
  return { backupType, fromLsn: lsn('from_lsn'), toLsn: lsn('to_lsn'), lastLsn: last && LSN.test(last) ? BigInt(last).toString() : null };
}

/**
 * The binlog position from xtrabackup_info's `binlog_pos` (`filename 'f', position 'p', GTID of the
 * last change 'g'`), or null when the server writes no binary log.
 */
export function parseBinlogFromInfo(text: string): BinlogPosition | null {
  const pos = parseKeyValues(text).get('binlog_pos');
  if (!pos) return null;
  const m = /filename '([^']+)', position '?(\d+)'?(?:, GTID of the last change '([^']*)')?/.exec(pos);
  return m ? { file: m[1]!, position: Number(m[2]), gtid: m[3] || null } : null;
}

/** mariadb_backup_binlog_info / xtrabackup_binlog_info: `file<TAB>position[<TAB>gtid]`. */
export function parseBinlogInfo(text: string): BinlogPosition | null {
  const [file, position, gtid] = text.trim().split(/\s+/);
  if (!file || !position || !/^\d+$/.test(position)) return null;
  return { file, position: Number(position), gtid: gtid || null };
}

/** The server version recorded in xtrabackup_info, e.g. `10.11.19-MariaDB-0+deb12u1`. */
export function serverVersionFromInfo(text: string): string | null {
  return parseKeyValues(text).get('server_version') || null;
}

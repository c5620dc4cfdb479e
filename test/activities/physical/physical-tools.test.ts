// Physical backup tooling as pure functions: command lines, what mariabackup writes, version and privilege checks.
import { describe, expect, it } from 'vitest';
import { backupArgs, prepareArgs } from '../../../src/activities/physical/commands.ts';
import {
  parseBinlogFromInfo,
  parseBinlogInfo,
  parseCheckpoints,
  serverVersionFromInfo,
} from '../../../src/activities/physical/checkpoints.ts';
import { releaseSeries, toolCommandsFor, toolCompatibilityProblem } from '../../../src/activities/physical/version.ts';
import { missingBackupPrivileges } from '../../../src/activities/physical/privileges.ts';

describe('physical backup command lines', () => {
  it('streams xbstream with the defaults file first and no credentials', () => {
    const args = backupArgs({
      defaultsFile: '/w/.secrets/a.cnf',
      targetDir: '/w/t',
      lsnDir: '/w/l',
      incrementalLsn: null,
      parallel: 4,
      datadir: null,
    });
    expect(args[0]).toBe('--defaults-file=/w/.secrets/a.cnf');
    expect(args).toEqual([
      '--defaults-file=/w/.secrets/a.cnf',
      '--backup',
      '--stream=xbstream',
      '--target-dir=/w/t',
      '--extra-lsndir=/w/l',
      '--parallel=4',
    ]);
    expect(args.join(' ')).not.toMatch(/password|--user/);
  });

  it('starts an incremental at the parent to_lsn and passes a configured datadir', () => {
    const args = backupArgs({
      defaultsFile: '/c',
      targetDir: '/t',
      lsnDir: '/l',
      incrementalLsn: '123456789012345678',
      parallel: 1,
      datadir: '/var/lib/mysql',
    });
    expect(args).toContain('--incremental-lsn=123456789012345678');
    expect(args).toContain('--datadir=/var/lib/mysql');
    expect(() =>
      backupArgs({ defaultsFile: '/c', targetDir: '/t', lsnDir: '/l', incrementalLsn: '1; rm -rf /', parallel: 1, datadir: null }),
    ).toThrow(/invalid LSN/);
  });

  it('prepares MariaDB chains without --apply-log-only, which mariabackup 10.2+ no longer supports', () => {
    const tools = toolCommandsFor('mariadb');
    expect(prepareArgs(tools, { baseDir: '/b', incrementalDir: null, last: false })).toEqual([
      '--defaults-file=/dev/null',
      '--prepare',
      '--target-dir=/b',
      '--use-memory=256M',
    ]);
    expect(prepareArgs(tools, { baseDir: '/b', incrementalDir: '/i', last: true })).toContain('--incremental-dir=/i');
    expect(prepareArgs(tools, { baseDir: '/b', incrementalDir: '/i', last: false })).not.toContain('--apply-log-only');
  });

  it('prepares xtrabackup chains with --apply-log-only on every step but the last', () => {
    const tools = toolCommandsFor('mysql');
    expect(tools).toEqual({ tool: 'xtrabackup', backup: 'xtrabackup', extract: 'xbstream' });
    expect(prepareArgs(tools, { baseDir: '/b', incrementalDir: null, last: false })).toContain('--apply-log-only');
    expect(prepareArgs(tools, { baseDir: '/b', incrementalDir: '/i', last: false })).toContain('--apply-log-only');
    expect(prepareArgs(tools, { baseDir: '/b', incrementalDir: '/i', last: true })).not.toContain('--apply-log-only');
  });
});

describe('reading what mariabackup wrote', () => {
  it('reads from_lsn, to_lsn and the backup type from xtrabackup_checkpoints', () => {
    expect(
      parseCheckpoints('backup_type = incremental\nfrom_lsn = 44404\nto_lsn = 48068\nlast_lsn = 48100\nrecover_binlog_info = 0\n'),
    ).toEqual({ backupType: 'incremental', fromLsn: '44404', toLsn: '48068', lastLsn: '48100' });
  });

  it('refuses a checkpoints file without LSNs', () => {
    expect(() => parseCheckpoints('backup_type = full-backuped\nfrom_lsn = 0\n')).toThrow(/to_lsn is missing/);
    expect(() => parseCheckpoints('backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = abc\n')).toThrow(/to_lsn is "abc"/);
  });

  it('reads the binlog position and server version from xtrabackup_info', () => {
    const info =
      "server_version = 10.11.19-MariaDB-0+deb12u1\nbinlog_pos = filename 'mariadb-bin.000096', position '568', GTID of the last change '0-1-2'\n";
    expect(parseBinlogFromInfo(info)).toEqual({ file: 'mariadb-bin.000096', position: 568, gtid: '0-1-2' });
    expect(serverVersionFromInfo(info)).toBe('10.11.19-MariaDB-0+deb12u1');
    expect(parseBinlogFromInfo('binlog_pos = \n')).toBeNull();
    expect(parseBinlogInfo('mariadb-bin.000096\t568\t0-1-2\n')).toEqual({ file: 'mariadb-bin.000096', position: 568, gtid: '0-1-2' });
  });
});

describe('tool and server compatibility', () => {
  const mariabackup = 'mariabackup based on MariaDB server 10.11.19-MariaDB debian-linux-gnu (x86_64)';
  it('accepts mariabackup of the server release series', () => {
    expect(releaseSeries(mariabackup.replace(/^.*?server\s+/, ''))).toBe('10.11');
    expect(toolCompatibilityProblem('mariadb', mariabackup, '10.11.19-MariaDB-0+deb12u1')).toBeNull();
  });
  it('refuses mariabackup of another series, and a flavor that does not match the server', () => {
    expect(toolCompatibilityProblem('mariadb', mariabackup, '10.6.20-MariaDB')).toMatch(/mariabackup 10.11 cannot back up MariaDB 10.6/);
    expect(toolCompatibilityProblem('mariadb', mariabackup, '8.0.36')).toMatch(/flavor is mariadb/);
    expect(
      toolCompatibilityProblem('mysql', 'xtrabackup version 8.0.35-30 based on MySQL server 8.0.35 Linux (x86_64)', '8.0.36'),
    ).toBeNull();
    expect(toolCompatibilityProblem('mysql', 'xtrabackup version 8.0.35-30 based on MySQL server 8.0.35 Linux (x86_64)', '8.4.2')).toMatch(
      /install xtrabackup 8.4/,
    );
  });
});

describe('backup privileges', () => {
  it('accepts ALL PRIVILEGES and the four MariaDB needs, and names what is missing', () => {
    expect(missingBackupPrivileges(['GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION'], 'mariadb')).toEqual([]);
    expect(
      missingBackupPrivileges(
        ["GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO `mb`@`localhost` IDENTIFIED BY PASSWORD '*x'"],
        'mariadb',
      ),
    ).toEqual([]);
    expect(missingBackupPrivileges(['GRANT RELOAD ON *.* TO `mb`@`%`', 'GRANT ALL PRIVILEGES ON `shop`.* TO `mb`@`%`'], 'mariadb')).toEqual(
      ['PROCESS', 'LOCK TABLES', 'BINLOG MONITOR'],
    );
    expect(missingBackupPrivileges(['GRANT RELOAD, PROCESS, LOCK TABLES, REPLICATION CLIENT ON *.* TO `mb`@`%`'], 'mariadb')).toEqual([]);
  });
  it('cannot tell when privileges come through a role', () => {
    expect(missingBackupPrivileges(['GRANT USAGE ON *.* TO `mb`@`%`', 'GRANT `backup_role` TO `mb`@`%`'], 'mariadb')).toBeNull();
  });
});

describe('zstdInputBytes', () => {
  it('reads the stream size from zstd -v’s closing line, to its three digits', async () => {
    const { zstdInputBytes } = await import('../../../src/activities/physical/stream-backup.ts');
    expect(zstdInputBytes('/*stdin*\\            : 24.11%   (  1.17 GiB =>    289 MiB, /*stdout*\\) ')).toBe(Math.round(1.17 * 2 ** 30));
    expect(zstdInputBytes('/*stdin*\\            :  0.00%   (  4.77 MiB =>    175 B, /*stdout*\\) ')).toBe(Math.round(4.77 * 2 ** 20));
    expect(zstdInputBytes('/*stdin*\\            :100.00%   (   512 B =>    530 B, /*stdout*\\) ')).toBe(512);
    expect(zstdInputBytes('Note: 2 physical core(s) detected')).toBeNull();
  });
});

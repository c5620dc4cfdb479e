// The global privileges a backup user needs, checked from SHOW GRANTS before the tool runs, so a
// missing one is a clear refusal rather than a tool dying halfway. MariaDB 10.5+: RELOAD, PROCESS,
// LOCK TABLES and BINLOG MONITOR; MySQL 8 with xtrabackup: also BACKUP_ADMIN and REPLICATION CLIENT.
import type { Flavor } from './version.ts';

const NEEDED: Record<Flavor, string[]> = {
  mariadb: ['RELOAD', 'PROCESS', 'LOCK TABLES', 'BINLOG MONITOR'],
  mysql: ['RELOAD', 'PROCESS', 'LOCK TABLES', 'REPLICATION CLIENT', 'BACKUP_ADMIN'],
};

/**
 * The needed privileges `grants` (SHOW GRANTS lines) do not give on `*.*`, or null when that cannot
 * be told from them (privileges may come through roles).
 */
export function missingBackupPrivileges(grants: string[], flavor: Flavor): string[] | null {
  const global = new Set<string>();
  for (const line of grants) {
    const m = /^GRANT (.+?) ON \*\.\* TO /i.exec(line.trim());
    if (!m) {
      // `GRANT role TO user`: what the role gives is not in these lines.
      if (/^GRANT [`'"]?[^ ]+[`'"]? TO /i.test(line.trim()) && !/ ON /i.test(line)) return null;
      continue;
    }
    for (const privilege of m[1]!.split(',')) global.add(privilege.trim().toUpperCase());
  }
  if (global.has('ALL PRIVILEGES') || global.has('ALL')) return [];
  // MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR; either one does.
  if (global.has('REPLICATION CLIENT')) global.add('BINLOG MONITOR');
  return NEEDED[flavor].filter((p) => !global.has(p));
}

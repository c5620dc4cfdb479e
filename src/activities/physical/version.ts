// Which backup tool a server needs, and whether the installed one may back it up. mariabackup must
// come from the same MariaDB release series as the server (10.11 for 10.11: the redo log format
// changes between series); xtrabackup 8.0 backs up MySQL 8.0, 8.4 backs up 8.4, 2.4 backs up 5.7.
import type { PhysicalTool } from '../../workflows/physical/contracts.ts';
import { toolVersion } from '../tools/tools.ts';

export type Flavor = 'mariadb' | 'mysql';

export interface ToolCommands {
  tool: PhysicalTool;
  /** The binary that runs backups and prepares. */
  backup: string;
  /** The binary that extracts an xbstream. */
  extract: string;
}

/** The commands for a flavor: MariaDB's mariabackup/mbstream, Percona's xtrabackup/xbstream for MySQL. */
export function toolCommandsFor(flavor: Flavor): ToolCommands {
  return flavor === 'mariadb'
    ? { tool: 'mariabackup', backup: 'mariabackup', extract: 'mbstream' }
    : { tool: 'xtrabackup', backup: 'xtrabackup', extract: 'xbstream' };
}

/**
 * Checks that the backup tool and its extractor are installed on this worker (the one version
 * probe, cached); returns the backup tool's `--version` line. A missing one is a ToolMissing.
 */
export async function requirePhysicalTools(tools: ToolCommands): Promise<string> {
  const pkg = tools.tool === 'mariabackup' ? 'the mariadb-backup package' : 'Percona XtraBackup';
  const install = `${pkg}; physical backups need it beside the database server`;
  const version = await toolVersion(tools.backup, install);
  await toolVersion(tools.extract, install);
  return version;
}

/** `major.minor` of the first version number in a string, e.g. `10.11` from `… server 10.11.19-MariaDB …`. */
export function releaseSeries(version: string): string | null {
  const m = /(\d+)\.(\d+)\.\d+/.exec(version);
  return m ? `${m[1]}.${m[2]}` : null;
}

/**
 * Null when the tool may back up the server; otherwise why not, in words an operator can act on.
 * `toolVersion` is the tool's `--version` line, `serverVersion` is `SELECT VERSION()`.
 */
export function toolCompatibilityProblem(flavor: Flavor, toolVersion: string, serverVersion: string): string | null {
  const server = releaseSeries(serverVersion);
  if (!server) return `cannot read the server version ${JSON.stringify(serverVersion)}`;
  if (flavor === 'mariadb') {
    if (!/mariadb/i.test(serverVersion)) return `connection flavor is mariadb but the server reports ${serverVersion}`;
    // `mariabackup based on MariaDB server 10.11.19-MariaDB debian-linux-gnu (x86_64)`
    const tool = releaseSeries(toolVersion.replace(/^.*?server\s+/i, ''));
    if (!tool) return `cannot read the mariabackup version from ${JSON.stringify(toolVersion)}`;
    return tool === server
      ? null
      : `mariabackup ${tool} cannot back up MariaDB ${server}: install mariabackup from the ${server} series on the worker`;
  }
  if (/mariadb/i.test(serverVersion)) return `connection flavor is mysql but the server is ${serverVersion}`;
  // `xtrabackup version 8.0.35-30 based on MySQL server 8.0.35 Linux (x86_64)`
  const tool = releaseSeries(toolVersion.replace(/^.*?xtrabackup version\s+/i, ''));
  if (!tool) return `cannot read the xtrabackup version from ${JSON.stringify(toolVersion)}`;
  const wanted = server === '5.7' ? '2.4' : server;
  return tool === wanted ? null : `xtrabackup ${tool} cannot back up MySQL ${server}: install xtrabackup ${wanted}`;
}

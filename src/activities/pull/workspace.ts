// The workspace's two ends: create it from the source's own DDL (in a faster engine), count its rows, drop it.
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../../shared/names.ts';
import { workspaceCreatedAt } from '../../workflows/pull/contracts.ts';
import { likePrefix } from './patterns.ts';
import { workspaceOfTable, type WorkspaceLayout } from './workspace-layout.ts';

// The temporary workspace on the source's server (a database of its own, or prefixed tables in the
// source database: see workspace-layout.ts): created from the source's own DDL, filled with the
// subset, sanitized in place, checked, dumped and dropped. Nothing here writes to a source table.
// The steps in between are fill-workspace.ts, sanitize-workspace.ts (and the gate) and dump-rewrite.ts;
// old workspaces are swept by orphans.ts.

const q = quoteIdentifier;
/** The workspace's bookkeeping table: which tables are sanitized already (a retried step skips them). */
export const SANITIZED_STATE_TABLE = 'sanitized';
/** The workspace's bookkeeping table naming the pull it belongs to (its whole id), for the orphan sweep. */
export const OWNER_TABLE = 'owner';

/**
 * A storage engine without undo, redo or doublewrite for the workspace's copies: they are rebuilt
 * from scratch by a retried step and dropped after the pull, so InnoDB's crash safety buys nothing,
 * and on a busy server it doubles the write load of a pull. Measured on MariaDB 10.11 (bench
 * database, INSERT … SELECT): 300,000 order_items InnoDB 2.0 s, MyISAM 1.0 s, Aria 2.2 s; 100,000
 * customers with JSON text InnoDB 1.2 s, MyISAM 1.2 s, Aria 2.3 s. So MyISAM, where the server has
 * it and is not in a cluster; a table it refuses (a key over its 1000 bytes) stays InnoDB.
 */
async function fastEngine(conn: PoolConnection): Promise<string | null> {
  // Galera replicates only InnoDB rows (sessions behind a proxy on other nodes would see partial
  // copies) and Group Replication refuses writes to other engines: there the copies stay InnoDB.
  const [cluster] = await conn.query<RowDataPacket[]>(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'group_replication_group_name')",
  );
  if (
    cluster.some(
      (v) =>
        (v.Variable_name === 'wsrep_on' && String(v.Value).toUpperCase() === 'ON') ||
        (v.Variable_name === 'group_replication_group_name' && String(v.Value ?? '') !== ''),
    )
  )
    return null;
  const [rows] = await conn.query<RowDataPacket[]>(
    "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE = 'MyISAM' AND SUPPORT IN ('YES', 'DEFAULT')",
  );
  return rows.length ? 'MyISAM' : null;
}

/**
 * Creates the workspace: a database with the source's character set, or (the tables strategy)
 * prefixed tables in the source database. Each copy is made with CREATE TABLE … LIKE (columns and
 * indexes; no foreign keys, which the workspace does not need and whose names would clash in the
 * source database: the dump gets the source's own DDL) and moved to fastEngine(), except the
 * tables in `inPlace`, whose rules are applied by UPDATE afterwards: those stay InnoDB, so each
 * UPDATE commits with its marker row and a retried step never sanitizes a table twice. A table the
 * fast engine refuses (a key too long for it, an engine option it lacks) stays InnoDB too. A
 * leftover from an earlier attempt is dropped first.
 */
export async function createWorkspace(
  conn: PoolConnection,
  source: string,
  layout: WorkspaceLayout,
  tables: string[],
  inPlace: ReadonlySet<string> = new Set(),
  pullId: string | null = null,
): Promise<void> {
  layout.originalNames(tables);
  await dropWorkspace(conn, layout);
  if (layout.strategy === 'database') {
    const [schema] = await conn.query<RowDataPacket[]>(
      'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [source],
    );
    const cs = String(schema[0]?.cs ?? 'utf8mb4');
    const co = String(schema[0]?.co ?? 'utf8mb4_general_ci');
    if (!/^\w+$/.test(cs) || !/^\w+$/.test(co)) throw new Error(`unexpected character set ${cs}/${co}`);
    await conn.query(`CREATE DATABASE ${q(layout.database)} CHARACTER SET ${cs} COLLATE ${co}`);
  }
  const engine = await fastEngine(conn);
  for (const table of tables) {
    await conn.query(`CREATE TABLE ${layout.table(table)} LIKE ${q(source)}.${q(table)}`);
    if (engine && !inPlace.has(table)) await conn.query(`ALTER TABLE ${layout.table(table)} ENGINE=${engine}`).catch(() => undefined);
  }
  await conn.query(`CREATE TABLE ${layout.bookkeeping(SANITIZED_STATE_TABLE)} (table_name VARCHAR(64) NOT NULL PRIMARY KEY) ENGINE=InnoDB`);
  if (pullId !== null) {
    await conn.query(`CREATE TABLE ${layout.bookkeeping(OWNER_TABLE)} (pull_id VARCHAR(64) NOT NULL PRIMARY KEY) ENGINE=InnoDB`);
    await conn.query(`INSERT INTO ${layout.bookkeeping(OWNER_TABLE)} (pull_id) VALUES (?)`, [pullId]);
  }
}

/** The pull a workspace belongs to, from its owner table; null when it has none (made before it existed) or it is gone. */
export async function workspaceOwner(conn: PoolConnection, layout: WorkspaceLayout): Promise<string | null> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT pull_id AS id FROM ${layout.bookkeeping(OWNER_TABLE)} LIMIT 1`);
    return rows[0] ? String(rows[0].id) : null;
  } catch (error) {
    if ((error as { errno?: number }).errno === 1146 || (error as { errno?: number }).errno === 1049) return null; // no such table / database
    throw error;
  }
}

/** Exact rows per table, in a database or in a workspace's copies. */
export async function countRows(conn: PoolConnection, where: string | WorkspaceLayout, tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const name = (t: string): string => (typeof where === 'string' ? `${q(where)}.${q(t)}` : where.table(t));
  for (const t of tables) {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${name(t)}`);
    counts[t] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/**
 * Drops one workspace: its database, or, for the tables strategy, exactly the tables whose names
 * carry its prefix (checked one by one; nothing else in the source database is ever touched).
 */
export async function dropWorkspace(conn: PoolConnection, layout: WorkspaceLayout): Promise<void> {
  if (workspaceCreatedAt(layout.name) === null)
    throw new Error(`refusing to drop ${JSON.stringify(layout.name)}: not a dbferry workspace name`);
  if (layout.strategy === 'database') {
    await conn.query(`DROP DATABASE IF EXISTS ${q(layout.name)}`);
    return;
  }
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE ?',
    [layout.database, likePrefix(`${layout.name}_`)],
  );
  const ours = rows.map((r) => String(r.t)).filter((t) => workspaceOfTable(t) === layout.name);
  if (ours.length) await conn.query(`DROP TABLE IF EXISTS ${ours.map((t) => `${q(layout.database)}.${q(t)}`).join(', ')}`);
}

/** Files of the workspace's own bookkeeping tables, left out of the dump. */
export const isBookkeepingFile = (layout: WorkspaceLayout, file: string): boolean =>
  file.startsWith(`${layout.database}.${layout.bookkeepingName('')}`);

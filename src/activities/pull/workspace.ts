import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../../shared/names.ts';
import { WORKSPACE_PREFIX, workspaceCreatedAt } from '../../workflows/pull/contracts.ts';
import type { TablePlan } from './plan.ts';
import { planSubset } from './subset-sql.ts';
import type { ForeignKey } from './fk-graph.ts';
import { DETERMINISTIC_KEY_VAR, RUN_KEY_VAR, sanitizedSelectList, sanitizeStatement } from './sanitize-sql.ts';
import { gateStatement } from './gate-sql.ts';
import type { SqlStatement } from './sql-statement.ts';
import { workspaceOfTable, type WorkspaceLayout } from './workspace-layout.ts';

// The temporary workspace on the source's server (a database of its own, or prefixed tables in the
// source database: see workspace-layout.ts): created from the source's own DDL, filled with the
// subset, sanitized in place, checked, dumped and dropped. Nothing here writes to a source table.

const q = quoteIdentifier;
/** The workspace's bookkeeping table: which tables are sanitized already (a retried step skips them). */
const STATE_TABLE = 'sanitized';

async function run(conn: PoolConnection, s: SqlStatement): Promise<number> {
  const [result] = await conn.query<ResultSetHeader>(s.sql, s.params);
  return Number(result.affectedRows ?? 0);
}

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
  await conn.query(`CREATE TABLE ${layout.bookkeeping(STATE_TABLE)} (table_name VARCHAR(64) NOT NULL PRIMARY KEY) ENGINE=InnoDB`);
}

/**
 * Tables whose rules can be applied while copying (SELECT the fake values instead of the originals):
 * those where no sanitized column is part of the primary key or of a foreign key between pulled
 * tables, because the subset statements and the gate match rows on those columns with the source.
 * The others are copied raw and sanitized afterwards by sanitizeWorkspace's UPDATE.
 */
export function fusedTables(plan: TablePlan[], foreignKeys: ForeignKey[]): Set<string> {
  const keyColumns = new Set<string>();
  for (const fk of foreignKeys) {
    for (const c of fk.columns) keyColumns.add(`${fk.table}.${c}`);
    for (const c of fk.refColumns) keyColumns.add(`${fk.refTable}.${c}`);
  }
  return new Set(
    plan
      .filter(
        (t) => t.sanitize.length && t.sanitize.every((r) => !t.primaryKey.includes(r.column) && !keyColumns.has(`${t.table}.${r.column}`)),
      )
      .map((t) => t.table),
  );
}

/**
 * Fills the workspace with the subset (see subset-sql.ts): whole tables and leaf seeds side by
 * side on `parallel` sessions, then closure to a fixpoint, seeds, pruning to a fixpoint on one
 * session. Tables in fusedTables() get their fake values straight from the INSERT … SELECT (keyed
 * like sanitizeWorkspace, the keys in session variables) and are marked sanitized, so no original
 * value of theirs is ever written to the workspace. Starts from empty tables, so a retried attempt
 * gives the same result. Returns rows per table.
 */
export async function fillWorkspace(
  open: () => Promise<PoolConnection>,
  source: string,
  layout: WorkspaceLayout,
  plan: TablePlan[],
  foreignKeys: ForeignKey[],
  opts: { parallel: number; keys: { deterministic: string | null; run: string } | null; onStep: (done: number, total: number) => void },
): Promise<Record<string, number>> {
  // Without keys (an activity scheduled by an older workflow), every table is sanitized afterwards.
  const keys = opts.keys;
  const fused = keys ? fusedTables(plan, foreignKeys) : new Set<string>();
  const session = async (): Promise<PoolConnection> => {
    const conn = await open();
    await conn.query('SET SESSION FOREIGN_KEY_CHECKS = 0');
    await readWithoutLocking(conn);
    if (keys && fused.size) await conn.query(`SET ${DETERMINISTIC_KEY_VAR} = ?, ${RUN_KEY_VAR} = ?`, [keys.deterministic, keys.run]);
    // Multi-table DELETE by alias needs a default database on MariaDB, even with qualified names.
    await conn.query(`USE ${q(layout.database)}`);
    return conn;
  };
  const conn = await session();
  const subset = planSubset({
    source,
    workspace: layout,
    foreignKeys,
    tables: plan.map((t) => ({
      name: t.table,
      columns: t.columns,
      primaryKey: t.primaryKey,
      limit: t.limit,
      since: t.since,
      direct: t.direct === true,
      ...(fused.has(t.table) ? { select: sanitizedSelectList(t.columns, t.sanitize, 's') } : {}),
    })),
  });
  const copied = plan.filter((t) => !t.direct);
  for (const t of copied) await conn.query(`TRUNCATE TABLE ${layout.table(t.table)}`);
  await conn.query(`DELETE FROM ${layout.bookkeeping(STATE_TABLE)}`);
  for (const s of subset.cleanup) await run(conn, s);
  const total = subset.copies.length + subset.leafSeeds.length + subset.seeds.length + 2;
  let done = 0;
  // Whole tables and leaf seeds are independent of each other (FK checks are off): run them side
  // by side, largest first, so the last one to finish is a small one.
  const size = new Map(plan.map((t) => [t.table, t.limit ? Math.min(t.limit.maxRows, t.approxRows) : t.approxRows]));
  const queue = [...subset.copies, ...subset.leafSeeds].sort((a, b) => (size.get(b.table) ?? 0) - (size.get(a.table) ?? 0));
  const copiers = Array.from({ length: Math.max(1, Math.min(opts.parallel, queue.length)) }, async (_, i) => {
    const c = i === 0 ? conn : await session();
    for (let next = queue.shift(); next; next = queue.shift()) {
      await run(c, next.statement);
      opts.onStep(++done, total);
    }
  });
  await Promise.all(copiers);
  // Each round adds at least one row or ends, so the loops end; the cap only guards against a bug.
  for (let round = 0, added = 1; added > 0; round++) {
    if (round > 100_000) throw new Error('subset closure did not converge');
    added = 0;
    for (const s of subset.closure) added += await run(conn, s);
  }
  opts.onStep(++done, total);
  for (const seed of subset.seeds) {
    for (const s of seed.statements) await run(conn, s);
    opts.onStep(++done, total);
  }
  for (let round = 0, dropped = 1; dropped > 0; round++) {
    if (round > 100_000) throw new Error('subset pruning did not converge');
    dropped = 0;
    for (const p of subset.prune) {
      const marked = await run(conn, p.mark);
      if (marked) for (const s of p.remove) await run(conn, s);
      dropped += marked;
    }
  }
  for (const s of subset.cleanup) await run(conn, s);
  for (const table of fused) await conn.query(`INSERT INTO ${layout.bookkeeping(STATE_TABLE)} (table_name) VALUES (?)`, [table]);
  opts.onStep(++done, total);
  return countRows(
    conn,
    layout,
    copied.map((t) => t.table),
  );
}

/**
 * INSERT … SELECT under REPEATABLE READ takes shared locks on the rows it reads: on production
 * that would hold up writers for as long as the copy runs. READ COMMITTED reads a snapshot
 * instead, except where a statement-format binary log needs the locks for a safe replay.
 */
async function readWithoutLocking(conn: PoolConnection): Promise<void> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT @@log_bin AS on_, @@binlog_format AS format');
  if (Number(rows[0]?.on_) === 1 && String(rows[0]?.format).toUpperCase() === 'STATEMENT') return;
  await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
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
 * Runs each table's UPDATE with the keys in session variables (set once, never in a statement
 * text). Each table's UPDATE and its row in the state table commit together, so a retry never
 * sanitizes a table twice (which would break deterministic equality).
 */
export async function sanitizeWorkspace(
  conn: PoolConnection,
  layout: WorkspaceLayout,
  plan: TablePlan[],
  keys: { deterministic: string | null; run: string },
  onTable: (table: string, index: number, total: number) => void,
): Promise<void> {
  // With checks off, a sanitized key column referenced by another table is neither refused nor cascaded.
  await conn.query('SET SESSION FOREIGN_KEY_CHECKS = 0');
  await conn.query(`SET ${DETERMINISTIC_KEY_VAR} = ?, ${RUN_KEY_VAR} = ?`, [keys.deterministic, keys.run]);
  const tables = plan.filter((t) => t.sanitize.length);
  const [doneRows] = await conn.query<RowDataPacket[]>(`SELECT table_name AS t FROM ${layout.bookkeeping(STATE_TABLE)}`);
  const done = new Set(doneRows.map((r) => String(r.t)));
  for (const [i, t] of tables.entries()) {
    onTable(t.table, i, tables.length);
    if (done.has(t.table)) continue;
    await conn.beginTransaction();
    try {
      await run(conn, sanitizeStatement(layout.database, layout.tableName(t.table), t.sanitize));
      await conn.query(`INSERT INTO ${layout.bookkeeping(STATE_TABLE)} (table_name) VALUES (?)`, [t.table]);
      await conn.commit();
    } catch (error) {
      await conn.rollback().catch(() => undefined);
      throw error;
    }
  }
}

/** What the gate found: one line per leak, empty when the workspace is clean. */
export async function findLeaks(conn: PoolConnection, source: string, layout: WorkspaceLayout, plan: TablePlan[]): Promise<string[]> {
  const leaks: string[] = [];
  for (const t of plan.filter((p) => p.sanitize.length)) {
    const { statement, checks } = gateStatement({
      workspace: layout.database,
      workspaceTable: layout.tableName(t.table),
      source,
      table: t.table,
      columns: t.sanitize,
      primaryKey: t.primaryKey,
      otherTextColumns: t.otherTextColumns,
    });
    const [rows] = await conn.query<RowDataPacket[]>(statement.sql, statement.params);
    checks.forEach((check, i) => {
      const n = Number(rows[0]?.[`c${i}`] ?? 0);
      if (n > 0) leaks.push(`${check.label} (${n} row${n === 1 ? '' : 's'})`);
    });
  }
  return leaks;
}

/** A workspace found by the sweep: a database, or prefixed tables in `inDatabase`. */
export interface FoundWorkspace {
  name: string;
  ageMinutes: number;
  /** Set for the tables strategy: the database holding its prefixed tables. */
  inDatabase?: string;
}

const likePrefix = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Workspaces on this server older than `maxAgeMinutes`, by the time in their names: databases and prefixed tables. */
export async function findOrphanWorkspaces(
  conn: PoolConnection,
  maxAgeMinutes: number,
  nowSeconds = Date.now() / 1000,
): Promise<FoundWorkspace[]> {
  const [databases] = await conn.query<RowDataPacket[]>(
    'SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?',
    [likePrefix(WORKSPACE_PREFIX)],
  );
  const [tables] = await conn.query<RowDataPacket[]>(
    'SELECT DISTINCT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_NAME LIKE ? AND TABLE_SCHEMA NOT LIKE ?',
    [likePrefix(WORKSPACE_PREFIX), likePrefix(WORKSPACE_PREFIX)],
  );
  const found = new Map<string, { name: string; created: number; inDatabase?: string }>();
  for (const r of databases) {
    const name = String(r.s);
    const created = workspaceCreatedAt(name);
    if (created !== null) found.set(name, { name, created });
  }
  for (const r of tables) {
    const name = workspaceOfTable(String(r.t));
    const created = name === null ? null : workspaceCreatedAt(name);
    if (name !== null && created !== null) found.set(`${String(r.s)}\u0000${name}`, { name, created, inDatabase: String(r.s) });
  }
  return [...found.values()]
    .map((w) => ({
      name: w.name,
      ageMinutes: Math.floor((nowSeconds - w.created) / 60),
      ...(w.inDatabase ? { inDatabase: w.inDatabase } : {}),
    }))
    .filter((w) => w.ageMinutes >= maxAgeMinutes)
    .sort((a, b) => b.ageMinutes - a.ageMinutes);
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

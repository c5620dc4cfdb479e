// Filling the workspace with the FK-closed subset, sanitizing on the way whatever no key depends on.
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../../shared/names.ts';
import type { ForeignKey } from './fk-graph.ts';
import type { TablePlan } from './plan.ts';
import { sanitizedSelectList } from './sanitize-sql.ts';
import { setSessionKeys } from './session-keys.ts';
import { runStatement } from './sql-statement.ts';
import { planSubset } from './subset-sql.ts';
import { countRows, SANITIZED_STATE_TABLE } from './workspace.ts';
import type { WorkspaceLayout } from './workspace-layout.ts';

const q = quoteIdentifier;

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
    if (keys && fused.size) await setSessionKeys(conn, keys);
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
  await conn.query(`DELETE FROM ${layout.bookkeeping(SANITIZED_STATE_TABLE)}`);
  for (const s of subset.cleanup) await runStatement(conn, s);
  const total = subset.copies.length + subset.leafSeeds.length + subset.seeds.length + 2;
  let done = 0;
  // Whole tables and leaf seeds are independent of each other (FK checks are off): run them side
  // by side, largest first, so the last one to finish is a small one.
  const size = new Map(plan.map((t) => [t.table, t.limit ? Math.min(t.limit.maxRows, t.approxRows) : t.approxRows]));
  const queue = [...subset.copies, ...subset.leafSeeds].sort((a, b) => (size.get(b.table) ?? 0) - (size.get(a.table) ?? 0));
  const copiers = Array.from({ length: Math.max(1, Math.min(opts.parallel, queue.length)) }, async (_, i) => {
    const c = i === 0 ? conn : await session();
    for (let next = queue.shift(); next; next = queue.shift()) {
      await runStatement(c, next.statement);
      opts.onStep(++done, total);
    }
  });
  await Promise.all(copiers);
  // Each round adds at least one row or ends, so the loops end; the cap only guards against a bug.
  for (let round = 0, added = 1; added > 0; round++) {
    if (round > 100_000) throw new Error('subset closure did not converge');
    added = 0;
    for (const s of subset.closure) added += await runStatement(conn, s);
  }
  opts.onStep(++done, total);
  for (const seed of subset.seeds) {
    for (const s of seed.statements) await runStatement(conn, s);
    opts.onStep(++done, total);
  }
  for (let round = 0, dropped = 1; dropped > 0; round++) {
    if (round > 100_000) throw new Error('subset pruning did not converge');
    dropped = 0;
    for (const p of subset.prune) {
      const marked = await runStatement(conn, p.mark);
      if (marked) for (const s of p.remove) await runStatement(conn, s);
      dropped += marked;
    }
  }
  for (const s of subset.cleanup) await runStatement(conn, s);
  for (const table of fused) await conn.query(`INSERT INTO ${layout.bookkeeping(SANITIZED_STATE_TABLE)} (table_name) VALUES (?)`, [table]);
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

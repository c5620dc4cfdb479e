// Sanitizing the workspace in place (one UPDATE per table, never twice) and the gate that proves it worked.
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { gateStatement } from './gate-sql.ts';
import type { TablePlan } from './plan.ts';
import { sanitizeStatement } from './sanitize-sql.ts';
import { setSessionKeys, type PullKeys } from './session-keys.ts';
import { runStatement } from './sql-statement.ts';
import { SANITIZED_STATE_TABLE } from './workspace.ts';
import type { WorkspaceLayout } from './workspace-layout.ts';

/**
 * Runs each table's UPDATE with the keys in session variables (set once, never in a statement
 * text: see session-keys.ts). Each table's UPDATE and its row in the state table commit together, so a retry never
 * sanitizes a table twice (which would break deterministic equality).
 */
export async function sanitizeWorkspace(
  conn: PoolConnection,
  layout: WorkspaceLayout,
  plan: TablePlan[],
  keys: PullKeys,
  onTable: (table: string, index: number, total: number) => void,
): Promise<void> {
  // With checks off, a sanitized key column referenced by another table is neither refused nor cascaded.
  await conn.query('SET SESSION FOREIGN_KEY_CHECKS = 0');
  await setSessionKeys(conn, keys);
  const tables = plan.filter((t) => t.sanitize.length);
  const [doneRows] = await conn.query<RowDataPacket[]>(`SELECT table_name AS t FROM ${layout.bookkeeping(SANITIZED_STATE_TABLE)}`);
  const done = new Set(doneRows.map((r) => String(r.t)));
  for (const [i, t] of tables.entries()) {
    onTable(t.table, i, tables.length);
    if (done.has(t.table)) continue;
    await conn.beginTransaction();
    try {
      await runStatement(conn, sanitizeStatement(layout.database, layout.tableName(t.table), t.sanitize));
      await conn.query(`INSERT INTO ${layout.bookkeeping(SANITIZED_STATE_TABLE)} (table_name) VALUES (?)`, [t.table]);
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

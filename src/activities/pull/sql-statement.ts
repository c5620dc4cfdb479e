// One parameterised statement, and the one way the workspace code runs it.
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';

/** A parameterised statement: identifiers quoted by quoteIdentifier, every value a parameter. */
export interface SqlStatement {
  sql: string;
  params: unknown[];
}

/** Runs `s` on `conn` and returns the rows it changed. */
export async function runStatement(conn: PoolConnection, s: SqlStatement): Promise<number> {
  const [result] = await conn.query<ResultSetHeader>(s.sql, s.params);
  return Number(result.affectedRows ?? 0);
}

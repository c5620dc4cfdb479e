// What a server says about one database: whether it exists, what it holds, its character set and
// size. Shared by the copy, restore and chain-restore checks.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ApplicationFailure } from '@temporalio/activity';

/** Approximate on-disk size of a database, for progress estimates only. */
export async function estimateDatabaseBytes(pool: Pool, database: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT COALESCE(SUM(DATA_LENGTH), 0) AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
    [database],
  );
  return Number(rows[0]?.bytes ?? 0);
}

/** A database's default character set and collation; a missing database is a non-retryable DatabaseNotFound. */
export async function databaseCharset(pool: Pool, database: string): Promise<{ charset: string; collation: string }> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [database],
  );
  if (!rows[0]) throw ApplicationFailure.nonRetryable(`database "${database}" does not exist`, 'DatabaseNotFound');
  return { charset: String(rows[0].charset), collation: String(rows[0].collation) };
}

/** Charset and collation names go into DDL unquoted, so they are held to their alphabet. */
export function charsetName(name: string): string {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name))
    throw ApplicationFailure.nonRetryable(`unexpected character set name ${JSON.stringify(name)}`, 'InvalidRequest');
  return name;
}

/** True when the database exists on the server. */
export async function databaseExists(pool: Pool, database: string): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database]);
  return rows.length > 0;
}

/** Tables, views, routines and events in a database: 0 means it may be written into without losing anything. */
export async function objectCount(pool: Pool, database: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?) AS n`,
    [database, database, database],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Checks a destination a run is about to write: refuses one that holds anything (unless it is
 * to be recreated) as a non-retryable DestinationNotEmpty, and returns the character set of one
 * that exists empty, so cleanup can put it back as it was. Null: absent, or to be recreated.
 */
export async function emptyDestinationCharset(
  pool: Pool,
  database: string,
  recreateDestination: boolean,
): Promise<{ charset: string; collation: string } | null> {
  if (recreateDestination || !(await databaseExists(pool, database))) return null;
  if ((await objectCount(pool, database)) > 0) {
    throw ApplicationFailure.nonRetryable(
      `destination database "${database}" already has tables; pass recreateDestination: true to drop and recreate it`,
      'DestinationNotEmpty',
    );
  }
  return databaseCharset(pool, database);
}

import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DatabaseRef, TableCount } from '../../workflows/copy/contracts.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import { UnknownConnectionError } from '../mysql/pools.ts';
import { findCopyRequestProblem } from '../../shared/copy-rules.ts';
import type { ActivityDeps } from '../deps.ts';

export interface ValidateCopyInput {
  source: DatabaseRef;
  destination: DatabaseRef;
  recreateDestination: boolean;
}
export interface ValidateCopyOutput {
  /** The destination's character set when it already existed (empty), so cleanup can restore it as it was. */
  existingDestination: { charset: string; collation: string } | null;
}

/** Approximate on-disk size of a database, for progress estimates only. */
export async function estimateDatabaseBytes(pool: Pool, database: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT COALESCE(SUM(DATA_LENGTH), 0) AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
    [database],
  );
  return Number(rows[0]?.bytes ?? 0);
}

/** A database's default character set and collation. */
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

/** Permanent mistakes in a request: reported once, never retried. */
const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);

/** Re-checks the request rules the API enforced, in case the config changed since. */
export function checkCopyRequest(deps: ActivityDeps, input: ValidateCopyInput): void {
  const problem = findCopyRequestProblem(deps.config, input);
  if (problem)
    throw refuse(`${problem.field}: ${problem.message}`, problem.kind === 'forbidden' ? 'DestinationForbidden' : 'InvalidRequest');
}

export function createMysqlActivities(deps: ActivityDeps) {
  const pool = (name: string): Pool => {
    try {
      return deps.pools.get(name);
    } catch (error) {
      if (error instanceof UnknownConnectionError) throw refuse(error.message, 'InvalidRequest');
      throw error;
    }
  };

  return {
    /** Refuses a copy that cannot or must not run, before any tool starts. */
    async validateCopy(input: ValidateCopyInput): Promise<ValidateCopyOutput> {
      checkCopyRequest(deps, input);
      const source = pool(input.source.connection);
      if (!(await databaseExists(source, input.source.database))) {
        throw refuse(
          `source database "${input.source.database}" does not exist on connection "${input.source.connection}"`,
          'DatabaseNotFound',
        );
      }
      const destination = pool(input.destination.connection);
      const destinationExists = await databaseExists(destination, input.destination.database);
      if (!destinationExists || input.recreateDestination) return { existingDestination: null };
      if ((await objectCount(destination, input.destination.database)) > 0) {
        throw refuse(
          `destination database "${input.destination.database}" already has tables; pass recreateDestination: true to drop and recreate it`,
          'DestinationNotEmpty',
        );
      }
      return { existingDestination: await databaseCharset(destination, input.destination.database) };
    },

    /** Compares the destination's row counts with the rows the dump holds, table by table. */
    async verifyCopy({
      destination,
      expected,
    }: {
      destination: DatabaseRef;
      expected: Array<{ table: string; rows: number }>;
    }): Promise<TableCount[]> {
      const db = pool(destination.connection);
      const [present] = await db.query<RowDataPacket[]>(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
        [destination.database],
      );
      const presentTables = new Set(present.map((r) => String(r.t)));
      const missing = expected.filter((e) => !presentTables.has(e.table)).map((e) => e.table);
      if (missing.length)
        throw refuse(`verification failed: tables missing in the destination: ${missing.join(', ')}`, 'VerificationFailed');
      const counts: TableCount[] = [];
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 5000);
      try {
        // Counted in parallel (the pool bounds it): on big tables each COUNT(*) is a full index scan.
        counts.push(
          ...(await Promise.all(
            expected.map(async (e) => {
              const [rows] = await db.query<RowDataPacket[]>(
                `SELECT COUNT(*) AS n FROM ${quoteIdentifier(destination.database)}.${quoteTableName(e.table)}`,
              );
              return { table: e.table, sourceRows: e.rows, destinationRows: Number(rows[0]?.n ?? 0) };
            }),
          )),
        );
      } finally {
        clearInterval(beat);
      }
      const wrong = counts.filter((c) => c.sourceRows !== c.destinationRows);
      if (wrong.length) {
        const detail = wrong.map((c) => `${c.table}: ${c.sourceRows} dumped, ${c.destinationRows} loaded`).join('; ');
        throw refuse(`verification failed: row counts differ (${detail})`, 'VerificationFailed');
      }
      return counts;
    },

    /**
     * Undoes a failed or cancelled copy: drops the database it created, or, when the destination
     * existed empty before, puts back an empty database with its original character set.
     */
    async dropCopyDestination({
      destination,
      restoreEmpty,
    }: {
      destination: DatabaseRef;
      restoreEmpty: { charset: string; collation: string } | null;
    }): Promise<void> {
      const db = pool(destination.connection);
      const name = quoteIdentifier(destination.database);
      await db.query(`DROP DATABASE IF EXISTS ${name}`);
      if (restoreEmpty)
        await db.query(
          `CREATE DATABASE ${name} CHARACTER SET ${charsetName(restoreEmpty.charset)} COLLATE ${charsetName(restoreEmpty.collation)}`,
        );
    },
  };
}

// Table names come from the source's own catalogue (the dump), so they are quoted, not validated.
const quoteTableName = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

// The checks around a copy: refuse one that cannot or must not run before any tool starts,
// compare row counts afterwards, and undo a failed copy's destination.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ApplicationFailure } from '@temporalio/activity';
import type { DatabaseRef, TableCount } from '../../workflows/copy/contracts.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import { UnknownConnectionError } from '../mysql/pools.ts';
import { charsetName, databaseExists, emptyDestinationCharset } from '../mysql/databases.ts';
import { findCopyRequestProblem, findSameServerProblem } from '../../shared/copy-rules.ts';
import type { ActivityDeps } from '../deps.ts';
import { whileHeartbeating } from '../tools/heartbeat.ts';

export interface ValidateCopyInput {
  source: DatabaseRef;
  destination: DatabaseRef;
  recreateDestination: boolean;
}
export interface ValidateCopyOutput {
  /** The destination's character set when it already existed (empty), so cleanup can restore it as it was. */
  existingDestination: { charset: string; collation: string } | null;
}

/** What the copy checks use of the worker's clients. */
export type CopyCheckDeps = Pick<ActivityDeps, 'config' | 'pools'>;

/** Permanent mistakes in a request: reported once, never retried. */
const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);

/**
 * Re-checks the request rules the API enforced, in case the config changed since (or the workflow
 * was started straight on Temporal), the same-server ones by the servers' identities.
 */
export async function checkCopyRequest(deps: Pick<ActivityDeps, 'config' | 'pools'>, input: ValidateCopyInput): Promise<void> {
  const servers = deps.pools.servers;
  const problem =
    findCopyRequestProblem(deps.config, input) ?? (await findSameServerProblem(deps.config, (a, b) => servers.same(a, b), input));
  if (!problem) return;
  const forbidden = problem.field.startsWith('source.') ? 'SourceForbidden' : 'DestinationForbidden';
  throw refuse(`${problem.field}: ${problem.message}`, problem.kind === 'forbidden' ? forbidden : 'InvalidRequest');
}

export function createMysqlActivities(deps: CopyCheckDeps) {
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
      await checkCopyRequest(deps, input);
      const source = pool(input.source.connection);
      if (!(await databaseExists(source, input.source.database))) {
        throw refuse(
          `source database "${input.source.database}" does not exist on connection "${input.source.connection}"`,
          'DatabaseNotFound',
        );
      }
      const destination = pool(input.destination.connection);
      return { existingDestination: await emptyDestinationCharset(destination, input.destination.database, input.recreateDestination) };
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
      // Counted in parallel (the pool bounds it): on big tables each COUNT(*) is a full index scan.
      const counts: TableCount[] = await whileHeartbeating(() =>
        Promise.all(
          expected.map(async (e) => {
            const [rows] = await db.query<RowDataPacket[]>(
              `SELECT COUNT(*) AS n FROM ${quoteIdentifier(destination.database)}.${quoteTableName(e.table)}`,
            );
            return { table: e.table, sourceRows: e.rows, destinationRows: Number(rows[0]?.n ?? 0) };
          }),
        ),
      );
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

// Run caps: concurrent runs per user and per source connection, and a threads budget per source
// server. A run's row in the control schema's `runs` table is its reservation: it is inserted, counted
// and (over a cap) deleted again under one named lock, so simultaneous starts cannot all slip through;
// it stops counting once Temporal says its workflow closed (`ended_at`), whichever process asks.
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { DbferryConfig } from '../../config/schema.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import { ApiError } from '../errors.ts';

/** The `limits` section of the config file (defaults: 10 runs per user, 8 per source connection, 32 threads per server). */
export type RunLimits = DbferryConfig['limits'];

/** What a run reads from, as the services describe it to the run service. */
export interface RunSource {
  connection: string;
  /** The tool threads it opens against the source's server (1 for a single-stream tool). */
  threads: number;
  /** The request field that names the source, for refusals (default `source.connection`). */
  field?: string;
  /** The request field its threads come from (default `threads`). */
  threadsField?: string;
}

/** The open runs a new one would join, not counting itself. */
export interface OpenRuns {
  userRuns: number;
  sourceRuns: number;
  serverThreads: number;
}

/** Seconds a refused caller is told to wait before asking again (`Retry-After`). */
export const CAP_RETRY_AFTER_SECONDS = 15;

/** How long a claimed run may go without a Temporal run id before the start is presumed dead. */
const PENDING_GRACE_SECONDS = 120;
/** How long a start waits for another one's count before giving up with a 429. */
const LOCK_WAIT_SECONDS = 10;

const LOOPBACK = new Set(['localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1']);

/**
 * The server a connection reaches, as far as the config can tell: its socket, or host and port with
 * the loopback spellings (`localhost`, `127.x`, `::1`) taken as one.
 */
export function sourceServerKey(config: Pick<DbferryConfig, 'connections'>, connection: string): string {
  const c = Object.hasOwn(config.connections, connection) ? config.connections[connection] : undefined;
  if (!c) return `connection:${connection}`;
  if (c.socket) return `socket:${c.socket}`;
  const host = (c.host ?? '').toLowerCase();
  return `tcp:${LOOPBACK.has(host) || /^127\./.test(host) ? 'loopback' : host}:${c.port ?? 3306}`;
}

const tooMany = (message: string, field?: string): ApiError =>
  new ApiError('TOO_MANY_REQUESTS', message, field, { retryAfterSeconds: CAP_RETRY_AFTER_SECONDS });

/** A request that no amount of waiting lets through: more threads than the whole server's budget. */
export function oversizedRequest(limits: RunLimits, source: RunSource | null): ApiError | null {
  if (!source || source.threads <= limits.threadsPerSourceServer) return null;
  return new ApiError(
    'BAD_REQUEST',
    `${source.threads} threads exceed the threads budget of a source server (limits.threadsPerSourceServer is ${limits.threadsPerSourceServer})`,
    source.threadsField ?? 'threads',
  );
}

/** The cap a new run would break, joining `open`, as a 429 naming the cap and the field; null when it fits. */
export function capRefusal(
  limits: RunLimits,
  open: OpenRuns,
  user: Pick<AuthenticatedUser, 'name'>,
  source: RunSource | null,
): ApiError | null {
  const wait = 'wait for one to finish or cancel it';
  if (open.userRuns + 1 > limits.runsPerUser) {
    return tooMany(`${user.name} already has ${open.userRuns} runs running (limits.runsPerUser is ${limits.runsPerUser}); ${wait}`);
  }
  if (!source) return null;
  if (open.sourceRuns + 1 > limits.runsPerSource) {
    return tooMany(
      `${open.sourceRuns} runs are already reading from connection ${source.connection} (limits.runsPerSource is ${limits.runsPerSource}); ${wait}`,
      source.field ?? 'source.connection',
    );
  }
  if (open.serverThreads + source.threads > limits.threadsPerSourceServer) {
    const free = Math.max(0, limits.threadsPerSourceServer - open.serverThreads);
    return tooMany(
      `${source.threads} threads would exceed the threads budget of the server of ${source.connection}: ${open.serverThreads} of ` +
        `${limits.threadsPerSourceServer} are in use (limits.threadsPerSourceServer), ${free} free; ask for fewer or ${wait}`,
      source.threadsField ?? 'threads',
    );
  }
  return null;
}

interface OpenRow extends RowDataPacket {
  id: string;
  workflow_id: string;
  run_id: string | null;
  stale: number;
}

interface CountRow extends RowDataPacket {
  user_runs: number | string | null;
  source_runs: number | string | null;
  server_threads: number | string | null;
}

/** Runs `work` on `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** What the caps need of the API's deps. */
export interface CapsDeps {
  config: Pick<DbferryConfig, 'connections' | 'control'> & { limits?: RunLimits };
  controlPool: Pool;
  temporal: Client;
  /** The server identities (`@@server_uuid`, …) the API reads once per connection, where it has them. */
  servers?: { of(connection: string): Promise<{ key: string }> };
}

/**
 * The key the threads budget is kept under: the server's own identity (one server through a socket,
 * `localhost` and a DNS alias alike), or, when it cannot be asked, what the config says.
 */
async function serverOf(deps: CapsDeps, connection: string): Promise<string> {
  try {
    if (deps.servers) return `server:${(await deps.servers.of(connection)).key}`;
  } catch {
    // An unreachable source fails in the worker as before; its runs are kept apart by the config's key.
  }
  return sourceServerKey(deps.config, connection);
}

/** True while the run's workflow is open; a run whose start never happened counts only for a while. */
async function stillOpen(temporal: Client, row: OpenRow): Promise<boolean> {
  try {
    if (row.run_id) return (await temporal.workflow.getHandle(row.workflow_id, row.run_id).describe()).status.name === 'RUNNING';
    if (!row.stale) return true;
    // The API died between claim and attach: open only if the workflow it did start carries this run's id.
    const latest = await temporal.workflow.getHandle(row.workflow_id).describe();
    return latest.status.name === 'RUNNING' && (latest.memo?.state as { id?: string } | undefined)?.id === row.id;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/**
 * Claims a run within the caps: `claim` inserts its row on the lock's connection; a replay
 * (`created: false`) is returned as it is, a new run over a cap is deleted again and refused with 429.
 */
export async function claimWithinCaps<T extends { created: boolean; record: { id: string } }>(
  deps: CapsDeps,
  user: Pick<AuthenticatedUser, 'id' | 'name'>,
  source: RunSource | null,
  claim: (db?: Connection) => Promise<T>,
): Promise<T> {
  const limits = deps.config.limits;
  // Only a config that never went through the schema (a unit test's fake) lacks limits.
  if (!limits) return claim();
  const oversized = oversizedRequest(limits, source);
  if (oversized) throw oversized;
  const database = deps.config.control.database;
  const table = `${quoteIdentifier(database)}.runs`;
  const server = source ? await serverOf(deps, source.connection) : null;
  const scope = [user.id, source?.connection ?? null, server];

  // Settle the runs this start would be counted with: a closed workflow stops counting for good.
  const [open] = await deps.controlPool.query<OpenRow[]>(
    `SELECT id, workflow_id, run_id, created_at < UTC_TIMESTAMP(3) - INTERVAL ${PENDING_GRACE_SECONDS} SECOND AS stale FROM ${table}
     WHERE ended_at IS NULL AND (created_by_user_id = ? OR source_connection = ? OR source_server = ?)`,
    scope,
  );
  const ended: string[] = [];
  await eachLimited(open, 16, async (row) => {
    if (!(await stillOpen(deps.temporal, row))) ended.push(row.id);
  });
  if (ended.length) await deps.controlPool.query(`UPDATE ${table} SET ended_at = UTC_TIMESTAMP(3) WHERE id IN (?)`, [ended]);

  const lock = `dbferry-caps-${createHash('sha256').update(database).digest('hex').slice(0, 32)}`;
  const conn = await deps.controlPool.getConnection();
  let locked = false;
  try {
    const [got] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [lock, LOCK_WAIT_SECONDS]);
    locked = Number(got[0]?.got) === 1;
    if (!locked) throw tooMany('too many runs are starting at once; try again');
    const claimed = await claim(conn);
    if (!claimed.created) return claimed;
    const id = claimed.record.id;
    await conn.query(`UPDATE ${table} SET source_connection = ?, source_server = ?, threads = ? WHERE id = ?`, [
      source?.connection ?? null,
      server,
      source?.threads ?? 0,
      id,
    ]);
    const [counts] = await conn.query<CountRow[]>(
      `SELECT SUM(created_by_user_id = ?) AS user_runs, SUM(source_connection = ?) AS source_runs,
              SUM(CASE WHEN source_server = ? THEN threads ELSE 0 END) AS server_threads
       FROM ${table} WHERE ended_at IS NULL AND id <> ?`,
      [...scope, id],
    );
    const row = counts[0];
    const refusal = capRefusal(
      limits,
      { userRuns: Number(row?.user_runs ?? 0), sourceRuns: Number(row?.source_runs ?? 0), serverThreads: Number(row?.server_threads ?? 0) },
      user,
      source,
    );
    if (refusal) {
      await conn.query(`DELETE FROM ${table} WHERE id = ?`, [id]);
      throw refusal;
    }
    return claimed;
  } finally {
    if (locked) await conn.query('SELECT RELEASE_LOCK(?)', [lock]).catch(() => undefined);
    conn.release();
  }
}

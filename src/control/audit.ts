// The audit log in the control schema: who started, cancelled, downloaded or restored what, and
// every change to users, tokens and permissions. It never holds a secret: callers pass names, ids
// and request fields, and `record` drops any key that looks like one.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';
import { iso } from './tokens.ts';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  resource: string;
  runId: string | null;
  outcome: 'ok' | 'refused';
  detail: Record<string, unknown> | null;
}

export interface AuditEvent {
  /** The user's name, or `cli:<os user>` for the command line working on the control schema directly. */
  actor: string;
  actorUserId?: number | null;
  /** `copy.start`, `backup.download`, `token.revoke`, … */
  action: string;
  /** What it was done to: `local/shop -> local/shop_copy`, `user bob`, `token 12`. */
  resource: string;
  runId?: string | null;
  outcome?: 'ok' | 'refused';
  detail?: Record<string, unknown> | null;
}

const SECRET_KEY = /pass(word)?|secret|token|key|authorization|credential/i;

/** The detail without anything that could be a secret (kept: the names of what was left out). */
export function scrubDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(detail)) {
    if (SECRET_KEY.test(k) && k !== 'idempotencyKey' && k !== 'tokenId') continue;
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? scrubDetail(v as Record<string, unknown>) : v;
  }
  return out;
}

export interface AuditQuery {
  limit: number;
  before?: number | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  runId?: string | undefined;
}

export class AuditLog {
  readonly #table: string;
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#table = `${quoteIdentifier(database)}.audit_log`;
  }

  async record(event: AuditEvent): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.#table} (at, actor, actor_user_id, action, resource, run_id, outcome, detail) VALUES (UTC_TIMESTAMP(3), ?, ?, ?, ?, ?, ?, ?)`,
      [
        event.actor.slice(0, 64),
        event.actorUserId ?? null,
        event.action.slice(0, 64),
        event.resource.slice(0, 512),
        event.runId ?? null,
        event.outcome ?? 'ok',
        event.detail ? JSON.stringify(scrubDetail(event.detail)) : null,
      ],
    );
  }

  /** Newest first; `before` pages by id. */
  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const filters: Array<[string, unknown]> = [
      ['id < ?', query.before],
      ['actor = ?', query.actor],
      ['action = ?', query.action],
      ['run_id = ?', query.runId],
    ];
    for (const [clause, value] of filters) {
      if (value === undefined || value === '') continue;
      where.push(clause);
      args.push(value);
    }
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT id, at, actor, action, resource, run_id, outcome, detail FROM ${this.#table}
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...args, query.limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: iso(r.at as string)!,
      actor: String(r.actor),
      action: String(r.action),
      resource: String(r.resource),
      runId: (r.run_id as string | null) ?? null,
      outcome: r.outcome as 'ok' | 'refused',
      detail: r.detail === null ? null : typeof r.detail === 'string' ? (JSON.parse(r.detail) as Record<string, unknown>) : r.detail,
    }));
  }
}

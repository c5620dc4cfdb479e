// Transfers in the control schema: every table served on a grant (outgoing) or received from a
// remote one (incoming), with its counts, status, requester and the admin's approval decision.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';
import { iso, sqlDate } from './tokens.ts';

export const TRANSFER_DIRECTIONS = ['outgoing', 'incoming'] as const;
export type TransferDirection = (typeof TRANSFER_DIRECTIONS)[number];
export const TRANSFER_STATUSES = ['pending_approval', 'approved', 'denied', 'running', 'completed', 'failed', 'expired'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

export interface TransferView {
  id: number;
  direction: TransferDirection;
  grantId: number | null;
  grant: string | null;
  profile: string | null;
  table: string | null;
  records: number;
  bytes: number;
  status: TransferStatus;
  requesterIp: string | null;
  userAgent: string | null;
  approvalExpiresAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  error: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  createdAt: string;
}

export interface NewTransfer {
  direction: TransferDirection;
  grantId?: number | null;
  grant?: string | null;
  profile?: string | null;
  table?: string | null;
  status: TransferStatus;
  records?: number;
  bytes?: number;
  requesterIp?: string | null;
  userAgent?: string | null;
  approvalExpiresAt?: Date | null;
  startedAt?: Date | null;
  completedAt?: Date | null;
  error?: string | null;
}

export interface TransferQuery {
  grantId?: number | undefined;
  status?: TransferStatus | undefined;
  direction?: TransferDirection | undefined;
  table?: string | undefined;
  since?: Date | undefined;
  before?: number | undefined;
  limit: number;
}

/** A grant's transfers in total (completed and failed among them) and its completed transfers per table. */
export interface TransferStats {
  totalTransfers: number;
  completed: number;
  failed: number;
  records: number;
  bytes: number;
  perTable: Array<{ table: string; transfers: number; records: number; bytes: number }>;
}

const toView = (r: RowDataPacket): TransferView => ({
  id: Number(r.id),
  direction: r.direction as TransferDirection,
  grantId: r.grant_id === null ? null : Number(r.grant_id),
  grant: (r.grant_name as string | null) ?? null,
  profile: (r.profile as string | null) ?? null,
  table: (r.table_name as string | null) ?? null,
  records: Number(r.records),
  bytes: Number(r.bytes),
  status: r.status as TransferStatus,
  requesterIp: (r.requester_ip as string | null) ?? null,
  userAgent: (r.user_agent as string | null) ?? null,
  approvalExpiresAt: iso(r.approval_expires_at as string | null),
  startedAt: iso(r.started_at as string | null),
  completedAt: iso(r.completed_at as string | null),
  error: (r.error as string | null) ?? null,
  decidedBy: (r.decided_by as string | null) ?? null,
  decidedAt: iso(r.decided_at as string | null),
  decisionReason: (r.decision_reason as string | null) ?? null,
  createdAt: iso(r.created_at as string)!,
});

const date = (d: Date | null | undefined): string | null => (d ? sqlDate(d) : null);

export class TransferStore {
  readonly #table: string;
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#table = `${quoteIdentifier(database)}.transfers`;
  }

  async create(t: NewTransfer): Promise<TransferView> {
    const [result] = await this.pool.query<ResultSetHeader>(
      `INSERT INTO ${this.#table} (direction, grant_id, grant_name, profile, table_name, status, records, bytes, requester_ip, user_agent,
         approval_expires_at, started_at, completed_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        t.direction,
        t.grantId ?? null,
        t.grant ?? null,
        t.profile ?? null,
        t.table ?? null,
        t.status,
        t.records ?? 0,
        t.bytes ?? 0,
        t.requesterIp?.slice(0, 45) ?? null,
        t.userAgent?.slice(0, 512) ?? null,
        date(t.approvalExpiresAt),
        date(t.startedAt),
        date(t.completedAt),
        t.error?.slice(0, 2048) ?? null,
      ],
    );
    return (await this.get(result.insertId))!;
  }

  async get(id: number): Promise<TransferView | null> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.#table} WHERE id = ?`, [id]);
    return rows[0] ? toView(rows[0]) : null;
  }

  /** Newest first; `before` pages by id. */
  async list(query: TransferQuery): Promise<TransferView[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const filters: Array<[string, unknown]> = [
      ['grant_id = ?', query.grantId],
      ['status = ?', query.status],
      ['direction = ?', query.direction],
      ['table_name = ?', query.table],
      ['created_at >= ?', query.since ? sqlDate(query.since) : undefined],
      ['id < ?', query.before],
    ];
    for (const [clause, value] of filters) {
      if (value === undefined) continue;
      where.push(clause);
      args.push(value);
    }
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM ${this.#table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...args, query.limit],
    );
    return rows.map(toView);
  }

  /**
   * An admin's decision on a transfer waiting for approval: `approved` or `denied`, with who, when
   * and why. Null when the transfer is not waiting (any more) or does not exist.
   */
  async decide(id: number, decision: 'approved' | 'denied', by: string, reason: string | null): Promise<TransferView | null> {
    const [result] = await this.pool.query<ResultSetHeader>(
      `UPDATE ${this.#table} SET status = ?, decided_by = ?, decided_at = UTC_TIMESTAMP(3), decision_reason = ?
        WHERE id = ? AND status = 'pending_approval'`,
      [decision, by, reason, id],
    );
    return result.affectedRows ? this.get(id) : null;
  }

  /** Totals over a grant's transfers (every grant's, without one); per table, the completed ones. */
  async stats(grantId?: number): Promise<TransferStats> {
    const where = grantId === undefined ? '' : 'WHERE grant_id = ?';
    const args = grantId === undefined ? [] : [grantId];
    const [totals] = await this.pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS total, COALESCE(SUM(status = 'completed'), 0) AS completed, COALESCE(SUM(status = 'failed'), 0) AS failed,
              COALESCE(SUM(records), 0) AS records, COALESCE(SUM(bytes), 0) AS bytes FROM ${this.#table} ${where}`,
      args,
    );
    const [tables] = await this.pool.query<RowDataPacket[]>(
      `SELECT table_name, COUNT(*) AS transfers, COALESCE(SUM(records), 0) AS records, COALESCE(SUM(bytes), 0) AS bytes
         FROM ${this.#table} ${where ? `${where} AND` : 'WHERE'} status = 'completed' AND table_name IS NOT NULL
        GROUP BY table_name ORDER BY table_name`,
      args,
    );
    const t = totals[0]!;
    return {
      totalTransfers: Number(t.total),
      completed: Number(t.completed),
      failed: Number(t.failed),
      records: Number(t.records),
      bytes: Number(t.bytes),
      perTable: tables.map((r) => ({
        table: String(r.table_name),
        transfers: Number(r.transfers),
        records: Number(r.records),
        bytes: Number(r.bytes),
      })),
    };
  }
}

// Pull grants in the control schema (seed 003's sender connections): who may pull which profile's
// sanitized data from us, under which limits. The token is shown once (`dbg_<id>_<secret>`), only
// its sha256 is stored; the download password only as a scrypt hash. Neither ever leaves this file.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';
import { iso, sqlDate } from './tokens.ts';
import {
  expiryReason,
  grantToken,
  hashPassword,
  newGrantSecret,
  parseGrantToken,
  tokenMatches,
  type AllowedHours,
  type ApprovalMode,
  type GrantRules,
  type GrantStatus,
} from './grant-rules.ts';

/** The settings an admin sets on a grant (create and update). */
export interface GrantSettings {
  approvalMode: ApprovalMode;
  autoApproveTables: string[];
  allowedTables: string[];
  excludedTables: string[];
  maxDownloads: number | null;
  maxRecordsTotal: number | null;
  maxRecordsPerRequest: number;
  rateLimitPerMinute: number;
  ipAllowlist: string[];
  allowedHours: AllowedHours | null;
  expiresAt: Date | null;
}

export interface NewGrant extends GrantSettings {
  name: string;
  siteUrl: string;
  profile: string;
  /** The plain download password (hashed here), or null for none. */
  downloadPassword: string | null;
}

/** A change to a grant: any settings; `downloadPassword` null clears it. */
export type GrantPatch = Partial<GrantSettings> & { siteUrl?: string; downloadPassword?: string | null };

/** A grant as admins see it: never the token's hash nor the password's. */
export interface GrantView {
  id: number;
  name: string;
  siteUrl: string;
  profile: string;
  status: GrantStatus;
  approvalMode: ApprovalMode;
  autoApproveTables: string[];
  allowedTables: string[];
  excludedTables: string[];
  maxDownloads: number | null;
  downloadsUsed: number;
  maxRecordsTotal: number | null;
  recordsUsed: number;
  maxRecordsPerRequest: number;
  rateLimitPerMinute: number;
  hasDownloadPassword: boolean;
  ipAllowlist: string[];
  allowedHours: AllowedHours | null;
  expiresAt: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  approvedBy: string | null;
  approvedAt: string | null;
  suspendedBy: string | null;
  suspendedAt: string | null;
  suspendedReason: string | null;
  revokedBy: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
  reactivatedBy: string | null;
  reactivatedAt: string | null;
  expiredAt: string | null;
  expiredReason: string | null;
}

/** A lifecycle step: the status it leads to, the statuses it may start from, and the columns recording who and when. */
export const GRANT_TRANSITIONS = {
  approve: { to: 'active', from: ['pending'], by: 'approved_by', at: 'approved_at', reason: null },
  suspend: { to: 'suspended', from: ['pending', 'active'], by: 'suspended_by', at: 'suspended_at', reason: 'suspended_reason' },
  reactivate: { to: 'active', from: ['suspended', 'expired'], by: 'reactivated_by', at: 'reactivated_at', reason: null },
  revoke: {
    to: 'revoked',
    from: ['pending', 'active', 'suspended', 'expired'],
    by: 'revoked_by',
    at: 'revoked_at',
    reason: 'revoked_reason',
  },
} as const satisfies Record<string, { to: GrantStatus; from: readonly GrantStatus[]; by: string; at: string; reason: string | null }>;
export type GrantTransition = keyof typeof GRANT_TRANSITIONS;

/** A JSON column: MySQL hands it parsed, MariaDB as text. */
function json<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  if (typeof value === 'string') return JSON.parse(value) as T;
  return value as T;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toView(r: RowDataPacket): GrantView {
  return {
    id: Number(r.id),
    name: String(r.name),
    siteUrl: String(r.site_url),
    profile: String(r.profile),
    status: r.status as GrantStatus,
    approvalMode: r.approval_mode as ApprovalMode,
    autoApproveTables: json<string[]>(r.auto_approve_tables, []),
    allowedTables: json<string[]>(r.allowed_tables, []),
    excludedTables: json<string[]>(r.excluded_tables, []),
    maxDownloads: num(r.max_downloads),
    downloadsUsed: Number(r.downloads_used),
    maxRecordsTotal: num(r.max_records_total),
    recordsUsed: Number(r.records_used),
    maxRecordsPerRequest: Number(r.max_records_per_request),
    rateLimitPerMinute: Number(r.rate_limit_per_minute),
    hasDownloadPassword: r.download_password_hash !== null,
    ipAllowlist: json<string[]>(r.ip_allowlist, []),
    allowedHours: json<AllowedHours | null>(r.allowed_hours, null),
    expiresAt: iso(r.expires_at as string | null),
    createdBy: String(r.created_by),
    createdAt: iso(r.created_at as string)!,
    updatedAt: iso(r.updated_at as string)!,
    lastUsedAt: iso(r.last_used_at as string | null),
    approvedBy: str(r.approved_by),
    approvedAt: iso(r.approved_at as string | null),
    suspendedBy: str(r.suspended_by),
    suspendedAt: iso(r.suspended_at as string | null),
    suspendedReason: str(r.suspended_reason),
    revokedBy: str(r.revoked_by),
    revokedAt: iso(r.revoked_at as string | null),
    revokedReason: str(r.revoked_reason),
    reactivatedBy: str(r.reactivated_by),
    reactivatedAt: iso(r.reactivated_at as string | null),
    expiredAt: iso(r.expired_at as string | null),
    expiredReason: str(r.expired_reason),
  };
}

/** What the rules read, from a view and the password's hash. */
export function rulesOf(view: GrantView, downloadPasswordHash: string | null): GrantRules {
  return {
    status: view.status,
    expiresAt: view.expiresAt ? new Date(view.expiresAt) : null,
    maxDownloads: view.maxDownloads,
    downloadsUsed: view.downloadsUsed,
    maxRecordsTotal: view.maxRecordsTotal,
    recordsUsed: view.recordsUsed,
    ipAllowlist: view.ipAllowlist,
    allowedHours: view.allowedHours,
    downloadPasswordHash,
    approvalMode: view.approvalMode,
    allowedTables: view.allowedTables,
    excludedTables: view.excludedTables,
    autoApproveTables: view.autoApproveTables,
  };
}

/** Column ← setting, for create and update. */
const SETTING_COLUMNS: Record<keyof GrantSettings, [string, (v: never) => unknown]> = {
  approvalMode: ['approval_mode', (v: ApprovalMode) => v],
  autoApproveTables: ['auto_approve_tables', (v: string[]) => JSON.stringify(v)],
  allowedTables: ['allowed_tables', (v: string[]) => JSON.stringify(v)],
  excludedTables: ['excluded_tables', (v: string[]) => JSON.stringify(v)],
  maxDownloads: ['max_downloads', (v: number | null) => v],
  maxRecordsTotal: ['max_records_total', (v: number | null) => v],
  maxRecordsPerRequest: ['max_records_per_request', (v: number) => v],
  rateLimitPerMinute: ['rate_limit_per_minute', (v: number) => v],
  ipAllowlist: ['ip_allowlist', (v: string[]) => JSON.stringify(v)],
  allowedHours: ['allowed_hours', (v: AllowedHours | null) => (v ? JSON.stringify(v) : null)],
  expiresAt: ['expires_at', (v: Date | null) => (v ? sqlDate(v) : null)],
};

export class GrantExistsError extends Error {
  override name = 'GrantExistsError';
}

export class GrantStore {
  readonly #table: string;
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#table = `${quoteIdentifier(database)}.\`grants\``;
  }

  /** A new pending grant; the plain token is returned once, never stored. */
  async create(input: NewGrant, createdBy: string): Promise<{ grant: GrantView; token: string }> {
    const { secret, hash } = newGrantSecret();
    const columns = ['name', 'site_url', 'profile', 'token_hash', 'download_password_hash', 'created_by'];
    const values: unknown[] = [
      input.name,
      input.siteUrl,
      input.profile,
      hash,
      input.downloadPassword ? hashPassword(input.downloadPassword) : null,
      createdBy,
    ];
    for (const [key, [column, encode]] of Object.entries(SETTING_COLUMNS) as Array<
      [keyof GrantSettings, [string, (v: unknown) => unknown]]
    >) {
      columns.push(column);
      values.push(encode(input[key]));
    }
    let result: ResultSetHeader;
    try {
      [result] = await this.pool.query<ResultSetHeader>(
        `INSERT INTO ${this.#table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        values,
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'ER_DUP_ENTRY') throw new GrantExistsError(`a grant named "${input.name}" already exists`);
      throw error;
    }
    return { grant: (await this.getById(result.insertId))!, token: grantToken(result.insertId, secret) };
  }

  async get(name: string): Promise<GrantView | null> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.#table} WHERE name = ?`, [name]);
    return rows[0] ? toView(rows[0]) : null;
  }

  async getById(id: number): Promise<GrantView | null> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.#table} WHERE id = ?`, [id]);
    return rows[0] ? toView(rows[0]) : null;
  }

  async list(filter: { status?: GrantStatus | undefined; profile?: string | undefined } = {}): Promise<GrantView[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const [clause, value] of [
      ['status = ?', filter.status],
      ['profile = ?', filter.profile],
    ] as const) {
      if (value === undefined) continue;
      where.push(clause);
      args.push(value);
    }
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM ${this.#table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name`,
      args,
    );
    return rows.map(toView);
  }

  async count(): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${this.#table}`);
    return Number(rows[0]?.n ?? 0);
  }

  /** Changes settings; returns the grant, or null when there is none by that name. */
  async update(name: string, patch: GrantPatch): Promise<GrantView | null> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, [column, encode]] of Object.entries(SETTING_COLUMNS) as Array<
      [keyof GrantSettings, [string, (v: unknown) => unknown]]
    >) {
      if (patch[key] === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(encode(patch[key]));
    }
    if (patch.siteUrl !== undefined) {
      sets.push('site_url = ?');
      values.push(patch.siteUrl);
    }
    if (patch.downloadPassword !== undefined) {
      sets.push('download_password_hash = ?');
      values.push(patch.downloadPassword ? hashPassword(patch.downloadPassword) : null);
    }
    if (sets.length) await this.pool.query(`UPDATE ${this.#table} SET ${sets.join(', ')} WHERE name = ?`, [...values, name]);
    return this.get(name);
  }

  /**
   * One lifecycle step, recording who, when and why; only from the step's starting statuses.
   * Returns the grant after it, or null when it was not in one of them (or does not exist).
   */
  async transition(name: string, step: GrantTransition, by: string, reason?: string | null): Promise<GrantView | null> {
    const t = GRANT_TRANSITIONS[step];
    const sets = ['status = ?', `${t.by} = ?`, `${t.at} = UTC_TIMESTAMP(3)`];
    const values: unknown[] = [t.to, by];
    if (t.reason) {
      sets.push(`${t.reason} = ?`);
      values.push(reason ?? null);
    }
    const [result] = await this.pool.query<ResultSetHeader>(
      `UPDATE ${this.#table} SET ${sets.join(', ')} WHERE name = ? AND status IN (${t.from.map(() => '?').join(', ')})`,
      [...values, name, ...t.from],
    );
    return result.affectedRows ? this.get(name) : null;
  }

  /** A new token for a grant that is not revoked (the old one stops working at once), shown once. */
  async regenerateToken(name: string): Promise<{ grant: GrantView; token: string } | null> {
    const { secret, hash } = newGrantSecret();
    const [result] = await this.pool.query<ResultSetHeader>(
      `UPDATE ${this.#table} SET token_hash = ? WHERE name = ? AND status <> 'revoked'`,
      [hash, name],
    );
    if (!result.affectedRows) return null;
    const grant = (await this.get(name))!;
    return { grant, token: grantToken(grant.id, secret) };
  }

  async delete(name: string): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>(`DELETE FROM ${this.#table} WHERE name = ?`, [name]);
    return result.affectedRows > 0;
  }

  /**
   * The grant a token belongs to, with its rules (the password's hash among them, for
   * validateGrantRequest), or null: compared in constant time, whatever the token looks like.
   */
  async verifyToken(token: string): Promise<{ grant: GrantView; rules: GrantRules } | null> {
    const parsed = parseGrantToken(token);
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.#table} WHERE id = ?`, [parsed?.id ?? 0]);
    const row = rows[0];
    const matches = tokenMatches(token, row ? String(row.token_hash) : null);
    if (!row || !matches) return null;
    const grant = toView(row);
    return { grant, rules: rulesOf(grant, (row.download_password_hash as string | null) ?? null) };
  }

  /** The hash of a grant's download password (for the serving side), or null. */
  async passwordHash(id: number): Promise<string | null> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT download_password_hash FROM ${this.#table} WHERE id = ?`, [id]);
    return (rows[0]?.download_password_hash as string | null | undefined) ?? null;
  }

  /** Counts one served download and its records (the serving side calls it once per transfer session). */
  async recordUse(id: number, records: number): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.#table} SET downloads_used = downloads_used + 1, records_used = records_used + ?, last_used_at = UTC_TIMESTAMP(3) WHERE id = ?`,
      [records, id],
    );
  }

  /**
   * Marks every pending, active or suspended grant past its expiry date or its limits `expired`
   * (the Temporal Schedule's sweep); returns those it changed, with why.
   */
  async expireDue(now: Date): Promise<Array<{ id: number; name: string; reason: string }>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM ${this.#table} WHERE status IN ('pending', 'active', 'suspended')
         AND ((expires_at IS NOT NULL AND expires_at <= ?)
           OR (max_downloads IS NOT NULL AND downloads_used >= max_downloads)
           OR (max_records_total IS NOT NULL AND records_used >= max_records_total))`,
      [sqlDate(now)],
    );
    const expired: Array<{ id: number; name: string; reason: string }> = [];
    for (const row of rows) {
      const view = toView(row);
      const reason = expiryReason(rulesOf(view, null), now);
      if (!reason) continue;
      const [result] = await this.pool.query<ResultSetHeader>(
        `UPDATE ${this.#table} SET status = 'expired', expired_at = UTC_TIMESTAMP(3), expired_reason = ?
          WHERE id = ? AND status IN ('pending', 'active', 'suspended')`,
        [reason, view.id],
      );
      if (result.affectedRows) expired.push({ id: view.id, name: view.name, reason });
    }
    return expired;
  }
}

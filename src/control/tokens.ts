// API tokens in the control schema: created once, stored hashed, verified in constant time; scoped,
// expiring, revocable, with the time each was last used.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool, RowDataPacket, ResultSetHeader } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';
import type { Role } from './policy.ts';

/** The caller of a request: the token's user, with the role and the scopes the token carries. */
export interface AuthenticatedUser {
  id: number;
  name: string;
  role: Role;
  /** The token's id (`dbf_<id>_…`), for rate limits and the audit log; absent for in-process callers. */
  tokenId?: number;
  /** The token's scopes; null or absent: whatever the role allows. */
  scopes?: readonly string[] | null;
}

export interface TokenInfo {
  id: number;
  user: string;
  name: string;
  scopes: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const TOKEN_PATTERN = /^dbf_(\d{1,10})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();
/** last_used_at is written at most this often per token, so a busy client does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export const iso = (value: Date | string | null): string | null =>
  value === null ? null : value instanceof Date ? value.toISOString() : new Date(`${value.replace(' ', 'T')}Z`).toISOString();
/** A JS date as the control schema's DATETIME(3) in UTC. */
export const sqlDate = (d: Date): string => d.toISOString().slice(0, 23).replace('T', ' ');

/** API tokens: `dbf_<id>_<secret>`; only sha256(secret) is stored, compared in constant time. */
export class TokenStore {
  readonly #table: string;
  readonly #users: string;
  readonly #lastUsedWritten = new Map<number, number>();
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#table = `${quoteIdentifier(database)}.api_tokens`;
    this.#users = `${quoteIdentifier(database)}.users`;
  }

  /**
   * A new token for an existing, enabled user; the plain token is returned once, never stored.
   * With `ensureUser`, a missing user is created first with that role (the harness and `dbferry dev`).
   */
  async create(
    userName: string,
    options: { name?: string; scopes?: readonly string[] | null; expiresAt?: Date | null; ensureUser?: Role } = {},
  ): Promise<{ token: string; id: number; user: AuthenticatedUser }> {
    if (options.ensureUser) {
      await this.pool.query(`INSERT IGNORE INTO ${this.#users} (name, role) VALUES (?, ?)`, [userName, options.ensureUser]);
    }
    const [users] = await this.pool.query<RowDataPacket[]>(`SELECT id, name, role, disabled_at FROM ${this.#users} WHERE name = ?`, [
      userName,
    ]);
    const user = users[0] as { id: number; name: string; role: Role; disabled_at: unknown } | undefined;
    if (!user) throw new Error(`no user named "${userName}": create it first with \`dbferry user create ${userName} --role operator\``);
    if (user.disabled_at) throw new Error(`user "${userName}" is disabled`);
    const secret = randomBytes(32).toString('base64url');
    const [result] = await this.pool.query<ResultSetHeader>(
      `INSERT INTO ${this.#table} (user_id, name, token_hash, scopes, expires_at) VALUES (?, ?, ?, ?, ?)`,
      [
        user.id,
        options.name ?? 'cli',
        sha256(secret).toString('hex'),
        options.scopes ? options.scopes.join(',') : null,
        options.expiresAt ? sqlDate(options.expiresAt) : null,
      ],
    );
    return {
      token: `dbf_${result.insertId}_${secret}`,
      id: result.insertId,
      user: { id: Number(user.id), name: user.name, role: user.role, tokenId: result.insertId, scopes: options.scopes ?? null },
    };
  }

  /** The token's user, or null for a malformed, unknown, wrong, revoked or expired token, or a disabled user. */
  async verify(token: string): Promise<AuthenticatedUser | null> {
    const match = TOKEN_PATTERN.exec(token);
    // Hash even when malformed so a bad token costs the same as a good one.
    const presented = sha256(match?.[2] ?? token);
    const tokenId = match ? Number(match[1]) : 0;
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT t.token_hash, t.scopes, u.id, u.name, u.role FROM ${this.#table} t JOIN ${this.#users} u ON u.id = t.user_id
        WHERE t.id = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > UTC_TIMESTAMP(3)) AND u.disabled_at IS NULL`,
      [tokenId],
    );
    const row = rows[0] as { token_hash: string; scopes: string | null; id: number; name: string; role: Role } | undefined;
    const stored = row ? Buffer.from(row.token_hash, 'hex') : Buffer.alloc(32);
    const equal = timingSafeEqual(stored, presented);
    if (!match || !row || !equal) return null;
    await this.#touch(tokenId);
    return { id: Number(row.id), name: row.name, role: row.role, tokenId, scopes: row.scopes ? row.scopes.split(',') : null };
  }

  async #touch(tokenId: number): Promise<void> {
    const now = Date.now();
    if (now - (this.#lastUsedWritten.get(tokenId) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.#lastUsedWritten.set(tokenId, now);
    await this.pool.query(`UPDATE ${this.#table} SET last_used_at = UTC_TIMESTAMP(3) WHERE id = ?`, [tokenId]);
  }

  /** Every token (of one user), newest first; never the hashes. */
  async list(userName?: string): Promise<TokenInfo[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT t.id, u.name AS user, t.name, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
         FROM ${this.#table} t JOIN ${this.#users} u ON u.id = t.user_id
        ${userName ? 'WHERE u.name = ?' : ''} ORDER BY t.id DESC`,
      userName ? [userName] : [],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      user: String(r.user),
      name: String(r.name),
      scopes: r.scopes ? String(r.scopes).split(',') : null,
      createdAt: iso(r.created_at as string)!,
      expiresAt: iso(r.expires_at as string | null),
      lastUsedAt: iso(r.last_used_at as string | null),
      revokedAt: iso(r.revoked_at as string | null),
    }));
  }

  /** Revokes a token (of `userName`, when given); false when there is no such live token. */
  async revoke(id: number, userName?: string): Promise<TokenInfo | null> {
    const [result] = await this.pool.query<ResultSetHeader>(
      `UPDATE ${this.#table} t JOIN ${this.#users} u ON u.id = t.user_id SET t.revoked_at = UTC_TIMESTAMP(3)
        WHERE t.id = ? AND t.revoked_at IS NULL ${userName ? 'AND u.name = ?' : ''}`,
      userName ? [id, userName] : [id],
    );
    if (!result.affectedRows) return null;
    return (await this.list()).find((t) => t.id === id) ?? null;
  }
}

// API tokens in the control schema: created once, stored hashed, verified in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool, RowDataPacket, ResultSetHeader } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';

export interface AuthenticatedUser {
  id: number;
  name: string;
}

const TOKEN_PATTERN = /^dbf_(\d{1,10})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** API tokens: `dbf_<id>_<secret>`; only sha256(secret) is stored, compared in constant time. */
export class TokenStore {
  readonly #table: string;
  readonly #users: string;
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#table = `${quoteIdentifier(database)}.api_tokens`;
    this.#users = `${quoteIdentifier(database)}.users`;
  }

  /** Creates the user if needed and a new token for it; the plain token is returned once, never stored. */
  async create(userName: string, tokenName = 'cli'): Promise<{ token: string; user: AuthenticatedUser }> {
    await this.pool.query(`INSERT IGNORE INTO ${this.#users} (name) VALUES (?)`, [userName]);
    const [users] = await this.pool.query<RowDataPacket[]>(`SELECT id, name FROM ${this.#users} WHERE name = ?`, [userName]);
    const user = users[0] as { id: number; name: string };
    const secret = randomBytes(32).toString('base64url');
    const [result] = await this.pool.query<ResultSetHeader>(`INSERT INTO ${this.#table} (user_id, name, token_hash) VALUES (?, ?, ?)`, [
      user.id,
      tokenName,
      sha256(secret).toString('hex'),
    ]);
    return { token: `dbf_${result.insertId}_${secret}`, user: { id: Number(user.id), name: user.name } };
  }

  /** Returns the token's user, or null for a malformed, unknown, revoked or wrong token. */
  async verify(token: string): Promise<AuthenticatedUser | null> {
    const match = TOKEN_PATTERN.exec(token);
    // Hash even when malformed so a bad token costs the same as a good one.
    const presented = sha256(match?.[2] ?? token);
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT t.token_hash, u.id, u.name FROM ${this.#table} t JOIN ${this.#users} u ON u.id = t.user_id
        WHERE t.id = ? AND t.revoked_at IS NULL`,
      [match ? Number(match[1]) : 0],
    );
    const row = rows[0] as { token_hash: string; id: number; name: string } | undefined;
    const stored = row ? Buffer.from(row.token_hash, 'hex') : Buffer.alloc(32);
    const equal = timingSafeEqual(stored, presented);
    if (!match || !row || !equal) return null;
    return { id: Number(row.id), name: row.name };
  }
}

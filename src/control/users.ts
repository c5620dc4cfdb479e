// Users in the control schema: a name, a role, and whether they are disabled (their tokens stop working).
import type { Pool, RowDataPacket, ResultSetHeader } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';
import type { Role } from './policy.ts';
import { iso } from './tokens.ts';

export const USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export interface UserInfo {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  disabledAt: string | null;
}

export class UserExistsError extends Error {
  override name = 'UserExistsError';
}

const toUser = (r: RowDataPacket): UserInfo => ({
  id: Number(r.id),
  name: String(r.name),
  role: r.role as Role,
  createdAt: iso(r.created_at as string)!,
  disabledAt: iso(r.disabled_at as string | null),
});

export class UserStore {
  readonly #users: string;
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#users = `${quoteIdentifier(database)}.users`;
  }

  async create(name: string, role: Role): Promise<UserInfo> {
    const [result] = await this.pool.query<ResultSetHeader>(`INSERT IGNORE INTO ${this.#users} (name, role) VALUES (?, ?)`, [name, role]);
    if (!result.affectedRows) throw new UserExistsError(`a user named "${name}" already exists`);
    return (await this.get(name))!;
  }

  /** Creates the user when missing (its role is set only then); returns it either way. */
  async ensure(name: string, role: Role): Promise<UserInfo> {
    await this.pool.query(`INSERT IGNORE INTO ${this.#users} (name, role) VALUES (?, ?)`, [name, role]);
    return (await this.get(name))!;
  }

  async get(name: string): Promise<UserInfo | null> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT id, name, role, created_at, disabled_at FROM ${this.#users} WHERE name = ?`,
      [name],
    );
    return rows[0] ? toUser(rows[0]) : null;
  }

  async list(): Promise<UserInfo[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT id, name, role, created_at, disabled_at FROM ${this.#users} ORDER BY name`,
    );
    return rows.map(toUser);
  }

  async setRole(name: string, role: Role): Promise<UserInfo | null> {
    await this.pool.query(`UPDATE ${this.#users} SET role = ? WHERE name = ?`, [role, name]);
    return this.get(name);
  }

  /** Disables (or enables again) a user: a disabled user's tokens answer 401 and its runs stop at their next permission check. */
  async setDisabled(name: string, disabled: boolean): Promise<UserInfo | null> {
    await this.pool.query(
      `UPDATE ${this.#users} SET disabled_at = ${disabled ? 'COALESCE(disabled_at, UTC_TIMESTAMP(3))' : 'NULL'} WHERE name = ?`,
      [name],
    );
    return this.get(name);
  }

  /** How many enabled admins there are: the last one cannot be disabled or demoted. */
  async enabledAdmins(): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM ${this.#users} WHERE role = 'admin' AND disabled_at IS NULL`,
    );
    return Number(rows[0]?.n ?? 0);
  }
}

// Permissions in the control schema: which user may do which action on which connection or target.
// Rows from the config file (`access.users`) are kept in step with it at start-up; admins grant the rest.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';
import { firstRefused, type Grant, type Need, type Role } from './policy.ts';
import { iso } from './tokens.ts';

export interface PermissionInfo extends Grant {
  user: string;
  origin: 'api' | 'config';
  grantedBy: string;
  grantedAt: string;
}

/** What a user is and holds, read in one query for a permission check. */
export interface Standing {
  userId: number;
  role: Role;
  disabled: boolean;
  grants: Grant[];
}

export class PermissionStore {
  readonly #table: string;
  readonly #users: string;
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#table = `${quoteIdentifier(database)}.permissions`;
    this.#users = `${quoteIdentifier(database)}.users`;
  }

  /** The user's role and grants, or null when there is no such user. */
  async standing(userName: string): Promise<Standing | null> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT u.id, u.role, u.disabled_at, p.resource_kind, p.resource_name, p.action
         FROM ${this.#users} u LEFT JOIN ${this.#table} p ON p.user_id = u.id WHERE u.name = ?`,
      [userName],
    );
    const first = rows[0];
    if (!first) return null;
    return {
      userId: Number(first.id),
      role: first.role as Role,
      disabled: first.disabled_at !== null,
      grants: rows
        .filter((r) => r.resource_kind !== null)
        .map((r) => ({ kind: r.resource_kind, name: String(r.resource_name), action: r.action }) as Grant),
    };
  }

  /** The first need `userName` does not hold (or a reason the user holds nothing), or null when every need is allowed. */
  async refusal(userName: string, needs: readonly Need[]): Promise<{ need: Need | null; reason: string } | null> {
    const standing = await this.standing(userName);
    if (!standing) return { need: needs[0] ?? null, reason: `no user named "${userName}"` };
    if (standing.disabled) return { need: needs[0] ?? null, reason: `user "${userName}" is disabled` };
    const need = firstRefused(standing.role, standing.grants, needs);
    return need ? { need, reason: standing.role === 'viewer' ? `${userName} is a viewer` : 'no permission' } : null;
  }

  async list(userName?: string): Promise<PermissionInfo[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT u.name AS user, p.resource_kind, p.resource_name, p.action, p.origin, p.granted_by, p.granted_at
         FROM ${this.#table} p JOIN ${this.#users} u ON u.id = p.user_id ${userName ? 'WHERE u.name = ?' : ''}
        ORDER BY u.name, p.resource_kind, p.resource_name, p.action`,
      userName ? [userName] : [],
    );
    return rows.map((r) => ({
      user: String(r.user),
      kind: r.resource_kind,
      name: String(r.resource_name),
      action: r.action,
      origin: r.origin,
      grantedBy: String(r.granted_by),
      grantedAt: iso(r.granted_at as string)!,
    }));
  }

  /** Grants each action; returns how many were new. */
  async grant(userId: number, grants: readonly Grant[], grantedBy: string, origin: 'api' | 'config' = 'api'): Promise<number> {
    let added = 0;
    for (const g of grants) {
      const [result] = await this.pool.query(
        `INSERT IGNORE INTO ${this.#table} (user_id, resource_kind, resource_name, action, origin, granted_by) VALUES (?, ?, ?, ?, ?, ?)`,
        [userId, g.kind, g.name, g.action, origin, grantedBy],
      );
      added += (result as { affectedRows: number }).affectedRows;
    }
    return added;
  }

  /** Revokes each action granted through the API; rows from the config file are left (they come back at start-up). */
  async revoke(userId: number, grants: readonly Grant[]): Promise<{ revoked: number; fromConfig: Grant[] }> {
    let revoked = 0;
    const fromConfig: Grant[] = [];
    for (const g of grants) {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        `SELECT origin FROM ${this.#table} WHERE user_id = ? AND resource_kind = ? AND resource_name = ? AND action = ?`,
        [userId, g.kind, g.name, g.action],
      );
      if (rows[0]?.origin === 'config') {
        fromConfig.push(g);
        continue;
      }
      const [result] = await this.pool.query(
        `DELETE FROM ${this.#table} WHERE user_id = ? AND resource_kind = ? AND resource_name = ? AND action = ? AND origin = 'api'`,
        [userId, g.kind, g.name, g.action],
      );
      revoked += (result as { affectedRows: number }).affectedRows;
    }
    return { revoked, fromConfig };
  }

  /** Makes the user's config-file rows exactly `grants` (an API grant of the same action becomes config-owned). */
  async syncFromConfig(userId: number, grants: readonly Grant[]): Promise<void> {
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      await conn.query(`DELETE FROM ${this.#table} WHERE user_id = ? AND origin = 'config'`, [userId]);
      for (const g of grants) {
        await conn.query(
          `INSERT INTO ${this.#table} (user_id, resource_kind, resource_name, action, origin, granted_by) VALUES (?, ?, ?, ?, 'config', 'config file')
           ON DUPLICATE KEY UPDATE origin = 'config', granted_by = 'config file'`,
          [userId, g.kind, g.name, g.action],
        );
      }
      await conn.commit();
    } catch (error) {
      await conn.rollback().catch(() => undefined);
      throw error;
    } finally {
      conn.release();
    }
  }
}

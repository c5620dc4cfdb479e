// The worker's MySQL connections: one lazy pool per configured connection, its password resolved at run time.
import mysql from 'mysql2/promise';
import type { Pool, PoolOptions } from 'mysql2/promise';
import { readFileSync } from 'node:fs';
import type { DbferryConfig, ConnectionConfig } from '../../config/schema.ts';
import { resolvePassword } from '../../config/credentials.ts';
import { ServerIdentities } from './server-identity.ts';

/** Connection options for a named connection; the password is resolved here, at run time. */
export function connectionOptions(name: string, conn: ConnectionConfig): PoolOptions {
  const tls = conn.tls;
  return {
    host: conn.socket ? undefined : conn.host,
    port: conn.socket ? undefined : (conn.port ?? 3306),
    socketPath: conn.socket,
    user: conn.user,
    password: resolvePassword(name, conn),
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    ssl: tls
      ? {
          ca: tls.ca ? readFileSync(tls.ca, 'utf8') : undefined,
          cert: tls.cert ? readFileSync(tls.cert, 'utf8') : undefined,
          key: tls.key ? readFileSync(tls.key, 'utf8') : undefined,
          rejectUnauthorized: tls.rejectUnauthorized,
        }
      : undefined,
  };
}

/** One small pool per configured connection, created lazily and closed once at shutdown. */
export class MysqlPools {
  readonly #pools = new Map<string, Pool>();
  /** Which server each connection reaches, asked once per connection (see server-identity.ts). */
  readonly servers = new ServerIdentities(this);
  constructor(private readonly config: DbferryConfig) {}

  connection(name: string): ConnectionConfig {
    const conn = this.config.connections[name];
    if (!conn) throw new UnknownConnectionError(name);
    return conn;
  }

  get(name: string): Pool {
    let pool = this.#pools.get(name);
    if (!pool) {
      pool = mysql.createPool({ ...connectionOptions(name, this.connection(name)), connectionLimit: 8, maxIdle: 2, idleTimeout: 30_000 });
      this.#pools.set(name, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.end()));
  }
}

export class UnknownConnectionError extends Error {
  override name = 'UnknownConnectionError';
  constructor(readonly connection: string) {
    super(`no connection named "${connection}" in the config file`);
  }
}

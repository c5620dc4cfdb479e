// The control schema's migrations (users, tokens, runs, ...), each applied once in order.
import type { Pool } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';

// Each migration runs once, in order; a row in schema_migrations records it. Never edit a
// released migration: add a new one.
const migrations: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS users (
       id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       name VARCHAR(64) NOT NULL UNIQUE,
       created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
     ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS api_tokens (
       id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       user_id INT UNSIGNED NOT NULL,
       name VARCHAR(64) NOT NULL,
       token_hash CHAR(64) NOT NULL,
       created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       last_used_at DATETIME(3) NULL,
       revoked_at DATETIME(3) NULL,
       CONSTRAINT fk_api_tokens_user FOREIGN KEY (user_id) REFERENCES users (id)
     ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS runs (
       id CHAR(36) NOT NULL PRIMARY KEY,
       kind VARCHAR(32) NOT NULL,
       workflow_id VARCHAR(255) NOT NULL,
       run_id VARCHAR(64) NULL,
       created_by_user_id INT UNSIGNED NOT NULL,
       idempotency_key VARCHAR(128) NULL,
       callback_url VARCHAR(2048) NULL,
       request JSON NOT NULL,
       created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       UNIQUE KEY uq_runs_idempotency (created_by_user_id, kind, idempotency_key),
       KEY ix_runs_user (created_by_user_id, kind, created_at),
       CONSTRAINT fk_runs_user FOREIGN KEY (created_by_user_id) REFERENCES users (id)
     ) ENGINE=InnoDB`,
  ],
  // Sanitized pulls: the last successful pull of each table into each destination (delta sync).
  [
    `CREATE TABLE IF NOT EXISTS pull_watermarks (
       dest_connection VARCHAR(64) NOT NULL,
       dest_database VARCHAR(64) NOT NULL,
       table_name VARCHAR(64) NOT NULL,
       profile VARCHAR(64) NOT NULL,
       watermark VARCHAR(32) NOT NULL,
       pull_id CHAR(36) NOT NULL,
       updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       PRIMARY KEY (dest_connection, dest_database, table_name)
     ) ENGINE=InnoDB`,
  ],
];

/** Creates the control schema and applies pending migrations; safe to run from many processes. */
export async function migrateControlSchema(pool: Pool, database: string): Promise<number> {
  const db = quoteIdentifier(database);
  await pool.query(`CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const conn = await pool.getConnection();
  try {
    await conn.query(`USE ${db}`);
    // A named lock serialises concurrent start-ups (worker and API starting together).
    await conn.query('SELECT GET_LOCK(?, 30)', [`dbferry-migrate-${database}`]);
    await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
       version INT UNSIGNED NOT NULL PRIMARY KEY,
       applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB`);
    const [rows] = await conn.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
    const current = Number((rows as Array<{ v: number | string }>)[0]?.v ?? 0);
    for (let version = current + 1; version <= migrations.length; version++) {
      for (const statement of migrations[version - 1] ?? []) await conn.query(statement);
      await conn.query('INSERT INTO schema_migrations (version) VALUES (?)', [version]);
    }
    return migrations.length;
  } finally {
    await conn.query('SELECT RELEASE_LOCK(?)', [`dbferry-migrate-${database}`]).catch(() => undefined);
    conn.release();
  }
}

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
  // The access model: roles, disabled users, scoped and expiring tokens, permissions, the audit log.
  // Users from before roles were all global admins and stay admins; new users default to operator.
  [
    `ALTER TABLE users
       ADD COLUMN role ENUM('admin', 'operator', 'viewer') NOT NULL DEFAULT 'admin',
       ADD COLUMN disabled_at DATETIME(3) NULL`,
    `ALTER TABLE users MODIFY COLUMN role ENUM('admin', 'operator', 'viewer') NOT NULL DEFAULT 'operator'`,
    `ALTER TABLE api_tokens
       ADD COLUMN scopes VARCHAR(512) NULL,
       ADD COLUMN expires_at DATETIME(3) NULL,
       ADD KEY ix_api_tokens_user (user_id)`,
    `CREATE TABLE IF NOT EXISTS permissions (
       user_id INT UNSIGNED NOT NULL,
       resource_kind ENUM('connection', 'target') NOT NULL,
       resource_name VARCHAR(64) NOT NULL,
       action ENUM('read', 'write', 'physical', 'backup', 'restore') NOT NULL,
       origin ENUM('api', 'config') NOT NULL DEFAULT 'api',
       granted_by VARCHAR(64) NOT NULL,
       granted_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       PRIMARY KEY (user_id, resource_kind, resource_name, action),
       CONSTRAINT fk_permissions_user FOREIGN KEY (user_id) REFERENCES users (id)
     ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS audit_log (
       id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       actor VARCHAR(64) NOT NULL,
       actor_user_id INT UNSIGNED NULL,
       action VARCHAR(64) NOT NULL,
       resource VARCHAR(512) NOT NULL,
       run_id CHAR(36) NULL,
       outcome ENUM('ok', 'refused') NOT NULL DEFAULT 'ok',
       detail JSON NULL,
       KEY ix_audit_at (at),
       KEY ix_audit_actor (actor, at),
       KEY ix_audit_run (run_id)
     ) ENGINE=InnoDB`,
  ],
  // Run caps: what each run reads from (connection, server, threads), and when it was seen closed.
  // A run counts against the caps while ended_at is NULL (src/api/runs/caps.ts).
  [
    `ALTER TABLE runs
       ADD COLUMN source_connection VARCHAR(64) NULL,
       ADD COLUMN source_server VARCHAR(255) NULL,
       ADD COLUMN threads SMALLINT UNSIGNED NOT NULL DEFAULT 0,
       ADD COLUMN ended_at DATETIME(3) NULL,
       ADD KEY ix_runs_open (ended_at)`,
  ],
  // Pull grants (seed 003's sender connections) and their transfers (src/control/grants.ts).
  // Only sha256 of a grant's token and a scrypt hash of its download password are stored; JSON
  // columns hold table lists, the IP allow-list and the allowed hours. A transfer keeps the grant's
  // name when the grant is deleted.
  [
    `CREATE TABLE IF NOT EXISTS \`grants\` (
       id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       name VARCHAR(64) NOT NULL,
       site_url VARCHAR(2048) NOT NULL,
       profile VARCHAR(64) NOT NULL,
       token_hash CHAR(64) NOT NULL,
       status ENUM('pending', 'active', 'suspended', 'revoked', 'expired') NOT NULL DEFAULT 'pending',
       approved_by VARCHAR(64) NULL,
       approved_at DATETIME(3) NULL,
       suspended_by VARCHAR(64) NULL,
       suspended_at DATETIME(3) NULL,
       suspended_reason VARCHAR(512) NULL,
       revoked_by VARCHAR(64) NULL,
       revoked_at DATETIME(3) NULL,
       revoked_reason VARCHAR(512) NULL,
       reactivated_by VARCHAR(64) NULL,
       reactivated_at DATETIME(3) NULL,
       expired_at DATETIME(3) NULL,
       expired_reason VARCHAR(128) NULL,
       approval_mode ENUM('auto_approve', 'require_approval', 'per_table') NOT NULL DEFAULT 'auto_approve',
       auto_approve_tables JSON NOT NULL,
       allowed_tables JSON NOT NULL,
       excluded_tables JSON NOT NULL,
       max_downloads INT UNSIGNED NULL,
       downloads_used INT UNSIGNED NOT NULL DEFAULT 0,
       max_records_total BIGINT UNSIGNED NULL,
       records_used BIGINT UNSIGNED NOT NULL DEFAULT 0,
       max_records_per_request INT UNSIGNED NOT NULL DEFAULT 10000,
       rate_limit_per_minute INT UNSIGNED NOT NULL DEFAULT 60,
       download_password_hash VARCHAR(255) NULL,
       ip_allowlist JSON NOT NULL,
       allowed_hours JSON NULL,
       expires_at DATETIME(3) NULL,
       created_by VARCHAR(64) NOT NULL,
       created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
       last_used_at DATETIME(3) NULL,
       UNIQUE KEY uq_grants_name (name),
       KEY ix_grants_status (status)
     ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS transfers (
       id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       direction ENUM('outgoing', 'incoming') NOT NULL,
       grant_id INT UNSIGNED NULL,
       grant_name VARCHAR(64) NULL,
       profile VARCHAR(64) NULL,
       table_name VARCHAR(64) NULL,
       records BIGINT UNSIGNED NOT NULL DEFAULT 0,
       bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
       status ENUM('pending_approval', 'approved', 'denied', 'running', 'completed', 'failed', 'expired') NOT NULL,
       requester_ip VARCHAR(45) NULL,
       user_agent VARCHAR(512) NULL,
       approval_expires_at DATETIME(3) NULL,
       started_at DATETIME(3) NULL,
       completed_at DATETIME(3) NULL,
       error VARCHAR(2048) NULL,
       decided_by VARCHAR(64) NULL,
       decided_at DATETIME(3) NULL,
       decision_reason VARCHAR(512) NULL,
       created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       KEY ix_transfers_grant (grant_id, created_at),
       KEY ix_transfers_status (status, created_at),
       CONSTRAINT fk_transfers_grant FOREIGN KEY (grant_id) REFERENCES \`grants\` (id) ON DELETE SET NULL
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

// Schemas and helpers for the sanitized-pull integration tests (real MariaDB, real Temporal).
import type { RowDataPacket } from 'mysql2/promise';
import { pullProfileSchema } from '../../src/config/pull-profiles.ts';
import type { DbferryClient } from '../../src/client.ts';
import type { TestStack } from './stack.ts';
import { rootConnection } from './mysql.ts';

export const PULL_SECRET_ENV = 'DBFERRY_T_PULL_SECRET';
process.env[PULL_SECRET_ENV] = 'test-pull-secret-0123456789abcdef';

/** Adds a profile to the running stack's config (API and worker share the object). */
export function addProfile(stack: TestStack, name: string, profile: unknown): void {
  stack.config.pulls[name] = pullProfileSchema.parse(profile);
}

export async function query<T = RowDataPacket>(sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = await rootConnection();
  try {
    const [rows] = await conn.query(sql, params);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

/** `users` and `customers` with every kind of personal data, plus a leaky `login` copy of the email. */
export async function createPeopleDatabase(db: string): Promise<void> {
  const conn = await rootConnection();
  try {
    await conn.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4; USE \`${db}\`;
      CREATE TABLE users (
        id INT PRIMARY KEY, email VARCHAR(191) NULL UNIQUE, name VARCHAR(100) NOT NULL, phone VARCHAR(32) NULL,
        bio TEXT NULL, password VARCHAR(255) NULL, address VARCHAR(255) NULL, nickname VARCHAR(50) NULL,
        api_note VARCHAR(50) NULL, login VARCHAR(191) NULL, manager_id INT NULL,
        created_at DATETIME NULL, updated_at DATETIME NULL,
        CONSTRAINT fk_users_manager FOREIGN KEY (manager_id) REFERENCES users (id)) ENGINE=InnoDB;
      CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(191) NOT NULL, user_id INT NULL,
        created_at DATETIME NULL, updated_at DATETIME NULL,
        CONSTRAINT fk_customers_user FOREIGN KEY (user_id) REFERENCES users (id)) ENGINE=InnoDB;
      CREATE TABLE audit_log (id INT PRIMARY KEY, message VARCHAR(100)) ENGINE=InnoDB;`);
    const users = [
      [
        1,
        'alice@gmail.com',
        'Alice Liddell',
        '+44 20 7946 0001',
        'Loves rabbits and tea parties.',
        'secret-hash-1',
        '1 Wonderland Way, Oxford',
        'ally',
        'vip',
        'alice_l',
        null,
      ],
      [
        2,
        'bob@ourcompany.com',
        'Bob Builder',
        '+1 212 555 0199',
        'Can we fix it?',
        'secret-hash-2',
        '2 Site Road, Leeds',
        'bobby',
        'staff',
        'bob_b',
        1,
      ],
      [3, 'Carol@Example.org', 'Carol Danvers', '0049 30 1234567', '', null, null, null, null, 'carol_d', 1],
      [4, null, 'Dave Null', null, null, 'secret-hash-4', '4 Unknown St', 'd', null, 'dave', 2],
      [5, 'eve@ourcompany.com', 'Eve Moneypenny', '07700 900123', 'Spies.', 'secret-hash-5', '5 Vauxhall Cross', 'evie', 'x', 'eve', 2],
      [6, 'frank@mail.net', 'James Smith', '555', 'x', 'h', 'a', 'n', 'n', 'frank', null],
    ];
    await conn.query(
      `INSERT INTO users (id, email, name, phone, bio, password, address, nickname, api_note, login, manager_id, created_at, updated_at) VALUES ?`,
      [users.map((u) => [...u, '2024-01-01 00:00:00', '2024-01-01 00:00:00'])],
    );
    await conn.query(`INSERT INTO customers VALUES
      (10, 'alice@gmail.com', 1, '2024-01-01', '2024-01-01'), (11, 'frank@mail.net', 6, '2024-01-01', '2024-01-01'),
      (12, 'ALICE@gmail.com', NULL, '2024-01-01', '2024-01-01'), (13, 'zed@other.org', NULL, '2024-01-01', '2024-01-01')`);
    await conn.query(`INSERT INTO audit_log VALUES (1, 'created'), (2, 'updated')`);
  } finally {
    await conn.end();
  }
}

/** The rules every sanitization type gets tested with. */
export const peopleRules = {
  users: {
    email: { type: 'email', exclude: ['*@ourcompany.com'], deterministic: true },
    name: { type: 'name' },
    phone: { type: 'phone' },
    bio: { type: 'text' },
    password: { type: 'hash' },
    address: { type: 'address' },
    nickname: { type: 'null' },
    api_note: { type: 'fixed', value: 'redacted' },
    login: { type: 'fixed', value: 'user' },
  },
  customers: { email: { type: 'email', deterministic: true } },
};

/**
 * A schema for subsetting: `categories` references itself, `teams` and `players` reference each
 * other (a cycle), `products` and `scores` (unlimited) reference them, `notes` (limited) too.
 */
export async function createSubsetDatabase(db: string): Promise<void> {
  const conn = await rootConnection();
  try {
    await conn.query(`CREATE DATABASE \`${db}\`; USE \`${db}\`; SET FOREIGN_KEY_CHECKS = 0;
      CREATE TABLE categories (id INT PRIMARY KEY, parent_id INT NULL, title VARCHAR(20),
        CONSTRAINT fk_cat_parent FOREIGN KEY (parent_id) REFERENCES categories (id)) ENGINE=InnoDB;
      CREATE TABLE products (id INT PRIMARY KEY, category_id INT NOT NULL,
        CONSTRAINT fk_prod_cat FOREIGN KEY (category_id) REFERENCES categories (id)) ENGINE=InnoDB;
      CREATE TABLE notes (id INT PRIMARY KEY, category_id INT NOT NULL, created_at DATETIME NOT NULL,
        CONSTRAINT fk_note_cat FOREIGN KEY (category_id) REFERENCES categories (id)) ENGINE=InnoDB;
      CREATE TABLE teams (id INT PRIMARY KEY, captain_id INT NULL,
        CONSTRAINT fk_team_captain FOREIGN KEY (captain_id) REFERENCES players (id)) ENGINE=InnoDB;
      CREATE TABLE players (id INT PRIMARY KEY, team_id INT NOT NULL,
        CONSTRAINT fk_player_team FOREIGN KEY (team_id) REFERENCES teams (id)) ENGINE=InnoDB;
      CREATE TABLE scores (id INT PRIMARY KEY, player_id INT NOT NULL,
        CONSTRAINT fk_score_player FOREIGN KEY (player_id) REFERENCES players (id)) ENGINE=InnoDB;
      INSERT INTO categories SELECT seq, IF(seq = 1, NULL, seq DIV 2), CONCAT('c', seq) FROM seq_1_to_20;
      INSERT INTO products VALUES (1, 15), (2, 12), (3, 2);
      INSERT INTO notes VALUES (1, 20, '2024-01-05'), (2, 15, '2024-01-04'), (3, 3, '2024-01-03'), (4, 1, '2024-01-02'), (5, 9, '2024-01-01');
      INSERT INTO teams VALUES (1, 5), (2, 2), (3, 3), (4, NULL);
      INSERT INTO players SELECT seq, 1 + ((seq - 1) MOD 4) FROM seq_1_to_8;
      INSERT INTO scores VALUES (1, 7);
      SET FOREIGN_KEY_CHECKS = 1;`);
  } finally {
    await conn.end();
  }
}

/** CHECKSUM TABLE of every table: equal before and after proves the source was not touched. */
export async function checksums(db: string): Promise<Record<string, string>> {
  const tables = await query<{ t: string }>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [
    db,
  ]);
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [row] = await query<{ Checksum: string }>(`CHECKSUM TABLE \`${db}\`.\`${t}\` EXTENDED`);
    out[t] = String(row?.Checksum);
  }
  return out;
}

/** Workspace databases currently on the server. */
export async function workspaces(): Promise<string[]> {
  const rows = await query<{ s: string }>(
    "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '\\_dbferry\\_tmp\\_%'",
  );
  return rows.map((r) => r.s);
}

/** Polls a pull until it reaches a final status. */
export async function waitForPull(client: DbferryClient, id: string, timeoutMs = 150_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.pulls.get.query({ id });
    if (['succeeded', 'failed', 'cancelled'].includes(view.status)) return view;
    if (Date.now() > deadline) throw new Error(`pull ${id} still ${view.status}/${view.phase} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls until the pull is in `phase`. */
export async function waitForPullPhase(client: DbferryClient, id: string, phase: string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.pulls.get.query({ id });
    if (view.phase === phase) return view;
    if (['succeeded', 'failed', 'cancelled'].includes(view.status))
      throw new Error(`pull ${id} ended ${view.status} before ${phase}: ${view.lastError}`);
    if (Date.now() > deadline) throw new Error(`pull ${id} did not reach ${phase} (now ${view.phase})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

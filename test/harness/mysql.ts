// Test helpers for talking to the local MariaDB as root.
import mysql from 'mysql2/promise';
import { randomBytes } from 'node:crypto';

// Every test needs a root connection with the same lossless settings (utf8mb4, strings for dates and big numbers).
export async function rootConnection(database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    password: '',
    ...(database === undefined ? {} : { database }),
    charset: 'utf8mb4',
    multipleStatements: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
}

// Tests run concurrently against one server, so each needs its own collision-free database name.
export function uniqueDbName(prefix: string): string {
  const random = randomBytes(4).toString('hex');
  const name = `t_${prefix}_${Date.now().toString(36)}_${random}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return name.slice(0, 60);
}

// afterAll hooks clean up every database a test created, tolerating ones that were never created.
export async function dropDatabases(...names: string[]): Promise<void> {
  if (names.length === 0) return;
  const conn = await rootConnection();
  try {
    for (const name of names) await conn.query(`DROP DATABASE IF EXISTS \`${name.replace(/`/g, '``')}\``);
  } finally {
    await conn.end();
  }
}

/** Whether a database exists (a refused or cleaned-up run must leave none behind). */
export async function databaseExists(name: string): Promise<boolean> {
  const conn = await rootConnection();
  try {
    const [rows] = await conn.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
    return (rows as unknown[]).length > 0;
  } finally {
    await conn.end();
  }
}

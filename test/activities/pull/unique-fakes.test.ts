// Fakes on unique columns, run on the local MariaDB: distinct originals keep distinct fakes at 200,000 rows.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql, { type Connection, type Pool, type RowDataPacket } from 'mysql2/promise';
import { rootConnection } from '../../harness/mysql.ts';
import { readCatalog } from '../../../src/activities/pull/pull-catalog.ts';
import { planPull, PullPlanError } from '../../../src/activities/pull/plan.ts';
import { pullProfileSchema } from '../../../src/config/pull-profiles.ts';
import { DETERMINISTIC_KEY_VAR, RUN_KEY_VAR, sanitizeStatement, type SanitizeColumn } from '../../../src/activities/pull/sanitize-sql.ts';

// Unique columns against the local MariaDB: the short fake forms collide on 200,000 rows, the
// unique forms do not, and deterministic mode still maps equal inputs to equal fakes.

const db = `dbferry_uniqfake_${randomBytes(5).toString('hex')}`;
const ROWS = 200_000;
const TYPES = { name: 'name', phone: 'phone', address: 'address', note: 'text' } as const;
let conn: Connection;
/** readCatalog takes a pool, as the activities give it. */
let pool: Pool;

/** The first row of a query of counts, as numbers (the harness connection returns BIGINT and DECIMAL as strings). */
const one = async (sql: string, params: unknown[] = []): Promise<Record<string, number>> => {
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
};
const profile = (sanitize: Record<string, unknown>) =>
  pullProfileSchema.parse({
    source: { connection: 'src', database: db },
    destination: { connection: 'dst', database: 'elsewhere' },
    secretEnv: 'DBFERRY_TEST_SECRET',
    piiGuard: false,
    sanitize,
  });
const request = (tables: string[]) => ({ full: true, tables, watermarks: {}, destinationTables: new Set<string>() });
/** The rules as the planner hands them to the sanitizer, read from the real catalogue. */
async function planned(table: string, rules: Record<string, unknown>): Promise<SanitizeColumn[]> {
  const plan = planPull(profile({ [table]: rules }), await readCatalog(pool, db), request([table]));
  return plan.tables.find((t) => t.table === table)!.sanitize;
}
async function run(table: string, columns: SanitizeColumn[]): Promise<void> {
  const s = sanitizeStatement(db, table, columns);
  await conn.query(s.sql, s.params);
}

beforeAll(async () => {
  conn = await rootConnection();
  pool = mysql.createPool({ host: '127.0.0.1', port: 3306, user: 'root', password: '', connectionLimit: 1 });
  await conn.query(`CREATE DATABASE \`${db}\``);
  await conn.query(`USE \`${db}\``);
  await conn.query(`SET ${DETERMINISTIC_KEY_VAR} = ?, ${RUN_KEY_VAR} = ?`, [
    'deterministic-test-secret-0123456789',
    randomBytes(32).toString('hex'),
  ]);
  // Every sanitized column is unique in a different way: alone, in a composite index, as a prefix long enough.
  await conn.query(`CREATE TABLE people (
    id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, phone VARCHAR(40) NOT NULL, address VARCHAR(120) NOT NULL,
    note VARCHAR(60) NULL, nick VARCHAR(20) NULL, region INT NOT NULL,
    UNIQUE KEY u_name (name), UNIQUE KEY u_phone_region (region, phone), UNIQUE KEY u_address (address(80)),
    UNIQUE KEY u_note (note), UNIQUE KEY u_nick (nick)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  // Distinct originals of many lengths, the texts as short as 2 characters.
  await conn.query(`INSERT INTO people SELECT seq, CONCAT('Person ', seq), CONCAT('+44 20 ', LPAD(seq, 8, '0')), CONCAT(seq, ' High Street, Leeds'),
    IF(seq % 1000 = 0, NULL, CONCAT('n', seq)), IF(seq % 3 = 0, NULL, CONCAT('nick', seq)), 7 FROM seq_1_to_${ROWS}`);
  await conn.query('CREATE TABLE people_orig AS SELECT * FROM people');
  await conn.query('ALTER TABLE people_orig ADD PRIMARY KEY (id)');
}, 180_000);

afterAll(async () => {
  await conn?.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await conn?.end();
  await pool?.end();
});

describe('fakes on unique columns (MariaDB)', () => {
  it('reads unique indexes, composite and prefix ones included, into the catalogue', async () => {
    const catalog = await readCatalog(pool, db);
    const col = (name: string) => catalog.columns.find((c) => c.table === 'people' && c.name === name)!;
    expect(['id', 'name', 'phone', 'region', 'address', 'note', 'nick'].map((c) => [c, col(c).unique])).toEqual(
      ['id', 'name', 'phone', 'region', 'address', 'note', 'nick'].map((c) => [c, true]),
    );
    expect(col('address').uniquePrefix).toBe(80);
    expect(col('name').uniquePrefix).toBeNull();
    expect(catalog.primaryKeys.people).toEqual(['id']);
    expect(catalog.columns.filter((c) => c.table === 'people_orig').every((c) => !c.unique || c.name === 'id')).toBe(true);
  });

  it('refuses hash and fixed on a unique column at planning time', async () => {
    await expect(planned('people', { note: { type: 'hash' } })).rejects.toThrow(PullPlanError);
    await expect(planned('people', { note: { type: 'hash' } })).rejects.toThrow(
      /^sanitize\.people\.note: type "hash" writes the same value into every row/,
    );
    await expect(planned('people', { phone: { type: 'fixed', value: '0' } })).rejects.toThrow(/^sanitize\.people\.phone: type "fixed"/);
  });

  it('would collide with the short forms: each UPDATE fails on a duplicate key and changes nothing', async () => {
    for (const [column, type] of Object.entries(TYPES)) {
      const [rule] = await planned('people', { [column]: { type } });
      expect(rule!.unique, column).toBe(true);
      await expect(run('people', [{ ...rule!, unique: false }]), column).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    }
    expect(
      (
        await one(
          'SELECT COUNT(*) AS n FROM people p JOIN people_orig o USING (id) WHERE p.name = o.name AND p.phone = o.phone AND p.address = o.address AND p.note <=> o.note',
        )
      ).n,
    ).toBe(ROWS);
  });

  it('gives 200,000 distinct originals 200,000 distinct fakes, none equal to its original', async () => {
    const rules = Object.fromEntries([...Object.entries(TYPES).map(([c, type]) => [c, { type }]), ['nick', { type: 'null' }]]);
    const columns = await planned('people', rules);
    expect(columns.every((c) => c.unique)).toBe(true);
    await run('people', columns);

    const stats = await one(`SELECT COUNT(*) AS n,
        COUNT(DISTINCT p.name) AS names, COUNT(DISTINCT p.phone) AS phones, COUNT(DISTINCT p.address) AS addresses,
        COUNT(DISTINCT p.note) AS notes, COUNT(o.note) AS originalNotes, COUNT(p.nick) AS nicks,
        SUM(p.name = o.name OR p.phone = o.phone OR p.address = o.address OR p.note = o.note) AS unchanged,
        SUM(p.note IS NULL) AS nullNotes,
        SUM(CHAR_LENGTH(p.note) <> GREATEST(CHAR_LENGTH(o.note), 18)) AS noteLengths,
        SUM(NOT (CAST(p.name AS BINARY) REGEXP '^[A-Z][a-z]+ ([A-Z][.] )?[A-Z][a-z]+ [0-9a-f]{16}$')) AS badNames,
        SUM(NOT (CAST(p.phone AS BINARY) REGEXP '^[+]1-55[56]-[0-9]{20}$')) AS badPhones,
        SUM(NOT (CAST(p.address AS BINARY) REGEXP '^([0-9]+ [A-Za-z]+ [A-Za-z]+, Unit [0-9a-f]{16}|Suite [0-9a-f]{16}, [0-9]+ [A-Za-z]+ [A-Za-z]+), [A-Za-z]+$')) AS badAddresses,
        SUM(NOT (CAST(p.note AS BINARY) REGEXP '^[0-9a-f]{16} (L|S)')) AS badNotes
      FROM people p JOIN people_orig o USING (id)`);
    expect(stats).toEqual({
      n: ROWS,
      names: ROWS,
      phones: ROWS,
      addresses: ROWS,
      notes: ROWS - ROWS / 1000,
      originalNotes: ROWS - ROWS / 1000,
      nicks: 0,
      unchanged: 0,
      nullNotes: ROWS / 1000,
      noteLengths: 0,
      badNames: 0,
      badPhones: 0,
      badAddresses: 0,
      badNotes: 0,
    });
  });

  it('keeps deterministic fakes equal for equal inputs across tables', async () => {
    for (const table of ['left_side', 'right_side']) {
      await conn.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, original VARCHAR(100) NOT NULL, name VARCHAR(100) NOT NULL UNIQUE,
        phone VARCHAR(40) NOT NULL UNIQUE, address VARCHAR(120) NOT NULL UNIQUE, note VARCHAR(60) NOT NULL UNIQUE, KEY (original))`);
    }
    // 1..30000 and 20001..50000: 10,000 values in both tables, under different ids.
    const fill = (table: string, from: number, to: number) =>
      conn.query(`INSERT INTO ${table}
      SELECT seq, CONCAT('v', seq), CONCAT('Person ', seq), CONCAT('+44 ', seq), CONCAT(seq, ' Low Road'), CONCAT('n', seq) FROM seq_${from}_to_${to}`);
    await fill('left_side', 1, 30_000);
    await fill('right_side', 20_001, 50_000);
    await conn.query('UPDATE right_side SET id = id + 1000000');
    const rules = Object.fromEntries(Object.entries(TYPES).map(([c, type]) => [c, { type, deterministic: true }]));
    for (const table of ['left_side', 'right_side']) {
      const columns = await planned(table, rules);
      expect(columns.every((c) => c.unique && c.rule.deterministic)).toBe(true);
      await run(table, columns);
    }
    const both = await one(`SELECT COUNT(*) AS n,
        SUM(l.name = r.name AND l.phone = r.phone AND l.address = r.address AND l.note = r.note) AS equal
      FROM left_side l JOIN right_side r USING (original)`);
    expect(both).toEqual({ n: 10_000, equal: 10_000 });
    // And different inputs still differ across the two tables.
    expect((await one('SELECT COUNT(*) AS n FROM left_side l JOIN right_side r ON r.name = l.name AND r.original <> l.original')).n).toBe(
      0,
    );
    expect((await one("SELECT COUNT(*) AS n FROM left_side WHERE name LIKE 'Person %'")).n).toBe(0);
  });
});

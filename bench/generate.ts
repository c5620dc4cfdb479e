// Generates the benchmark database inside the server: three FK-linked InnoDB tables
// (customers -> orders -> order_items) filled with INSERT … SELECT from MariaDB's Sequence engine,
// with deterministic pseudo-random values (CRC32/MD5 of the row number), in bounded batches.
//
//   npx tsx bench/generate.ts [--rows N] [--db NAME]
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { databaseBytes, id, note, query, rootConnection } from './lib.ts';

export const DEFAULT_ROWS = 4_000_000;
/** Bumped whenever the schema or the value recipes change, so an old database is regenerated. */
const GENERATOR_VERSION = 3;
const BATCH_ROWS = 50_000;

export interface BenchTable {
  table: string;
  rows: number;
}
export interface GeneratedDatabase {
  database: string;
  tables: BenchTable[];
  rows: number;
  /** DATA_LENGTH + INDEX_LENGTH after ANALYZE TABLE. */
  bytes: number;
  reused: boolean;
  seconds: number;
}

/** Splits the total into 10% customers, 30% orders, 60% order items (each at least 1). */
export function benchTableRows(total: number): BenchTable[] {
  const customers = Math.max(1, Math.round(total * 0.1));
  const orders = Math.max(1, Math.round(total * 0.3));
  const items = Math.max(1, total - customers - orders);
  return [
    { table: 'customers', rows: customers },
    { table: 'orders', rows: orders },
    { table: 'order_items', rows: items },
  ];
}

const marker = (rows: number): string => `dbferry-bench v${GENERATOR_VERSION} rows=${rows}`;

// h(salt) is a deterministic pseudo-random 32-bit value per row (CRC32 of salt + row number).
const h = (salt: string): string => `CRC32(CONCAT('${salt}', seq))`;
const pick = (salt: string, words: string[]): string => `ELT(1 + ${h(salt)} % ${words.length}, ${words.map((w) => `'${w}'`).join(', ')})`;

const FIRST = ['Ada', 'Bruno', 'Chiara', 'Dmitri', 'Elif', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kemal', 'Lena'];
const LAST = ['Okafor', 'Novak', 'Rossi', 'Schmidt', 'Tanaka', 'Ueda', 'Varga', 'Weber', 'Yilmaz', 'Zhou'];
const CITIES = ['Lisbon', 'Porto', 'Berlin', 'Hamburg', 'Lyon', 'Milan', 'Krakow', 'Utrecht', 'Ghent', 'Tallinn', 'Bergen', 'Graz'];
const STREETS = ['Oak', 'Harbour', 'Mill', 'Station', 'Church', 'Market', 'River', 'Garden'];
const ADJECTIVES = ['Compact', 'Durable', 'Vintage', 'Modular', 'Organic', 'Wireless', 'Foldable', 'Premium'];
const NOUNS = ['kettle', 'backpack', 'lamp', 'notebook', 'headset', 'chair', 'blender', 'jacket', 'tent', 'mug'];

const DDL = [
  `CREATE TABLE customers (
     id INT UNSIGNED NOT NULL PRIMARY KEY,
     email VARCHAR(120) NOT NULL,
     name VARCHAR(100) NOT NULL,
     city VARCHAR(60) NOT NULL,
     balance DECIMAL(12,2) NOT NULL,
     created_at DATETIME NOT NULL,
     profile JSON NOT NULL,
     notes TEXT NULL,
     UNIQUE KEY uq_customers_email (email)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  `CREATE TABLE orders (
     id INT UNSIGNED NOT NULL PRIMARY KEY,
     customer_id INT UNSIGNED NOT NULL,
     status VARCHAR(16) NOT NULL,
     total DECIMAL(12,2) NOT NULL,
     placed_at DATETIME NOT NULL,
     shipping_address VARCHAR(255) NOT NULL,
     meta JSON NULL,
     KEY ix_orders_customer (customer_id),
     CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  `CREATE TABLE order_items (
     id INT UNSIGNED NOT NULL PRIMARY KEY,
     order_id INT UNSIGNED NOT NULL,
     sku CHAR(10) NOT NULL,
     description VARCHAR(255) NOT NULL,
     quantity SMALLINT UNSIGNED NOT NULL,
     unit_price DECIMAL(10,2) NOT NULL,
     attrs JSON NULL,
     KEY ix_order_items_order (order_id),
     CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
];

/** INSERT … SELECT for rows [from, to] of one table; `parents` is the referenced table's row count. */
function insertBatch(table: string, from: number, to: number, parents: number): string {
  const seq = `seq_${from}_to_${to}`;
  const ts = (salt: string) => `TIMESTAMP'2018-01-01 00:00:00' + INTERVAL (${h(salt)} % 220000000) SECOND`;
  switch (table) {
    case 'customers':
      return `INSERT INTO customers (id, email, name, city, balance, created_at, profile, notes)
        SELECT seq,
          CONCAT('customer', seq, '@example.', ${pick('d', ['com', 'org', 'net', 'io'])}),
          CONCAT(${pick('f', FIRST)}, ' ', ${pick('l', LAST)}),
          ${pick('c', CITIES)},
          (${h('b')} % 10000000) / 100,
          ${ts('t')},
          JSON_OBJECT('tier', ${pick('g', ['bronze', 'silver', 'gold', 'platinum'])}, 'newsletter', seq % 3 = 0,
                      'tags', JSON_ARRAY(SUBSTR(MD5(seq), 1, 8), SUBSTR(MD5(seq), 9, 8)), 'score', ${h('s')} % 1000,
                      'bio', LEFT(REPEAT(MD5(CONCAT('bio', seq)), 2), 10 + ${h('bl')} % 30)),
          IF(seq % 4 = 0, NULL, LEFT(REPEAT(CONCAT(MD5(CONCAT('n', seq)), ' '), 4), 16 + ${h('nl')} % 64))
        FROM ${seq}`;
    case 'orders':
      return `INSERT INTO orders (id, customer_id, status, total, placed_at, shipping_address, meta)
        SELECT seq,
          1 + ${h('oc')} % ${parents},
          ${pick('os', ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'])},
          (${h('ot')} % 5000000) / 100,
          ${ts('op')},
          CONCAT(1 + ${h('on')} % 400, ' ', ${pick('st', STREETS)}, ' Street, ', LPAD(${h('oz')} % 100000, 5, '0'), ' ',
                 ${pick('oy', CITIES)}),
          IF(seq % 2 = 0, NULL, JSON_OBJECT('channel', ${pick('ch', ['web', 'app', 'phone', 'store'])},
                      'coupon', IF(seq % 7 = 0, UPPER(LEFT(MD5(CONCAT('cp', seq)), 8)), NULL)))
        FROM ${seq}`;
    case 'order_items':
      return `INSERT INTO order_items (id, order_id, sku, description, quantity, unit_price, attrs)
        SELECT seq,
          1 + ${h('io')} % ${parents},
          CONCAT('SKU-', LPAD(${h('sk')} % 1000000, 6, '0')),
          CONCAT(${pick('ad', ADJECTIVES)}, ' ', ${pick('no', NOUNS)}, ' ', LEFT(MD5(CONCAT('ds', seq)), ${h('dl')} % 6)),
          1 + ${h('q')} % 9,
          (100 + ${h('up')} % 99900) / 100,
          IF(seq % 4 <> 0, NULL, JSON_OBJECT('color', ${pick('co', ['red', 'green', 'blue', 'black', 'white', 'sand'])},
                      'size', ${pick('sz', ['XS', 'S', 'M', 'L', 'XL'])}))
        FROM ${seq}`;
    default:
      throw new Error(`unknown bench table ${table}`);
  }
}

/** Is `database` a complete database from this generator version with exactly these row counts? */
async function isReusable(
  conn: Awaited<ReturnType<typeof rootConnection>>,
  database: string,
  tables: BenchTable[],
  rows: number,
): Promise<boolean> {
  const [schema] = await query(conn, 'SELECT SCHEMA_COMMENT AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database]);
  if (!schema || schema.c !== marker(rows)) return false;
  for (const t of tables) {
    const [r] = await query(conn, `SELECT COUNT(*) AS n FROM ${id(database)}.${id(t.table)}`).catch(() => [undefined]);
    if (Number(r?.n ?? -1) !== t.rows) return false;
  }
  return true;
}

/**
 * Creates (or reuses) `database` with `rows` rows in total. The schema comment is written last and
 * marks a finished generation, so an interrupted one is regenerated, never reused.
 */
export async function generateBenchDatabase(database: string, opts: { rows?: number } = {}): Promise<GeneratedDatabase> {
  const rows = opts.rows ?? DEFAULT_ROWS;
  if (!Number.isInteger(rows) || rows < 3) throw new Error(`bench: --rows must be an integer >= 3 (got ${rows})`);
  const tables = benchTableRows(rows);
  const started = performance.now();
  const conn = await rootConnection();
  try {
    if (await isReusable(conn, database, tables, rows)) {
      const { data, index } = await databaseBytes(conn, database);
      note(`reusing existing ${database} (${rows} rows, ${((data + index) / 1e6) | 0} MB); drop it to regenerate`);
      return { database, tables, rows, bytes: data + index, reused: true, seconds: (performance.now() - started) / 1000 };
    }
    note(`generating ${database}: ${tables.map((t) => `${t.table}=${t.rows}`).join(', ')}`);
    await conn.query(`DROP DATABASE IF EXISTS ${id(database)}`);
    await conn.query(`CREATE DATABASE ${id(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await conn.query(`USE ${id(database)}`);
    // Values are valid by construction; skipping the checks only makes generation faster.
    await conn.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
    for (const ddl of DDL) await conn.query(ddl);
    let parents = 1;
    for (const t of tables) {
      const tableStarted = performance.now();
      for (let from = 1; from <= t.rows; from += BATCH_ROWS) {
        const to = Math.min(t.rows, from + BATCH_ROWS - 1);
        // seq_N_to_N is a one-row table; the Sequence engine handles every range the same way.
        await conn.query(insertBatch(t.table, from, to, parents));
      }
      note(`  ${t.table}: ${t.rows} rows in ${((performance.now() - tableStarted) / 1000).toFixed(1)} s`);
      parents = t.rows;
    }
    await conn.query('SET SESSION foreign_key_checks = 1, unique_checks = 1');
    const { data, index } = await databaseBytes(conn, database);
    await conn.query(`ALTER DATABASE ${id(database)} COMMENT = '${marker(rows)}'`);
    const seconds = (performance.now() - started) / 1000;
    note(`generated ${database} in ${seconds.toFixed(1)} s: data ${(data / 1e6).toFixed(1)} MB + index ${(index / 1e6).toFixed(1)} MB`);
    return { database, tables, rows, bytes: data + index, reused: false, seconds };
  } finally {
    await conn.end();
  }
}

/** `--rows N` beats `BENCH_ROWS`, and `--scale X` multiplies the default. */
export function rowsFromArgs(values: { rows?: string; scale?: string }): number {
  if (values.rows !== undefined) return parseRowCount(values.rows);
  if (process.env.BENCH_ROWS) return parseRowCount(process.env.BENCH_ROWS);
  if (values.scale !== undefined) return Math.round(DEFAULT_ROWS * Number(values.scale));
  return DEFAULT_ROWS;
}

const parseRowCount = (s: string): number => {
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 3) throw new Error(`bench: row count must be an integer >= 3 (got ${JSON.stringify(s)})`);
  return n;
};

export const defaultDatabaseName = (rows: number): string => `dbferry_bench_src_${rows}`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, scale: { type: 'string' }, db: { type: 'string' } } });
  const rows = rowsFromArgs(values);
  const result = await generateBenchDatabase(values.db ?? defaultDatabaseName(rows), { rows });
  console.log(JSON.stringify(result));
}

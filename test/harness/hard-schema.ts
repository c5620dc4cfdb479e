// A database built to break naive copy tools: FK cycles, value-changing triggers, routines,
// events, views on views, binary/JSON/spatial/generated/zero-date columns, odd keys.
// Deliberately absent, because no SQL-text dump (mydumper or mysqldump) can copy them on MariaDB:
// FLOAT values needing more than 6 significant digits (the server prints FLOAT as %g, e.g. 16777216
// comes back as 16777200), and 4-byte characters in ENUM/SET members or comments (SHOW CREATE TABLE
// renders them as '?', so the copy's ENUM differs and values load as ''). Pinned by a test in
// test/integration/harness.test.ts.
import type { Connection } from 'mysql2/promise';
import { rootConnection } from './mysql.ts';

type SqlValue = string | number | Buffer | null | { toSqlString(): string };

// Raw SQL fragment for mysql2's bulk `VALUES ?` (DEFAULT, function calls).
const raw = (sql: string): { toSqlString(): string } => ({ toSqlString: () => sql });

// Small seeded PRNG (mulberry32) so every run builds the same data.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Text that trips up escaping, charset handling and line-oriented SQL splitters.
export const NASTY_STRINGS: readonly string[] = [
  '🦀 日本語 ñ Ω',
  'O\'Reilly\'s "quoted" `ticks`',
  'back\\slash \\n( not a newline \\',
  'line1\nline2\r\nline3\n(',
  "');\n(DROP TABLE x;--",
  'Ελληνικά עברית العربية हिन्दी',
  '𝕏 astral 🏳️‍🌈 zwj 👩‍👩‍👧',
  'tab\there\0nul',
  'NULL',
  "\\'",
  ';\n',
  '*/ /*!50000 SELECT 1*/ -- ',
];

// DDL; run in a session with sql_mode='' so zero-date defaults are accepted. Order matters only for the FK cycle.
export const HARD_SCHEMA_DDL: readonly string[] = [
  `CREATE TABLE authors (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, bio MEDIUMTEXT NULL,
    favourite_book_id INT UNSIGNED NULL, born DATE NOT NULL DEFAULT '0000-00-00',
    created_at DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00', name_len INT AS (CHAR_LENGTH(name)) STORED,
    KEY k_fav (favourite_book_id)) ENGINE=InnoDB`,
  `CREATE TABLE books (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, author_id INT UNSIGNED NOT NULL, title VARCHAR(255) NOT NULL,
    slug VARCHAR(300) NULL, notes TEXT NULL, price DECIMAL(12,2) NULL,
    price_with_tax DECIMAL(14,3) AS (price * 1.2) VIRTUAL, title_upper VARCHAR(255) AS (UPPER(title)) STORED,
    KEY k_author (author_id), KEY k_vtax (price_with_tax),
    CONSTRAINT fk_books_author FOREIGN KEY (author_id) REFERENCES authors (id)) ENGINE=InnoDB`,
  `ALTER TABLE authors ADD CONSTRAINT fk_authors_fav FOREIGN KEY (favourite_book_id) REFERENCES books (id) ON DELETE SET NULL`,
  `CREATE TABLE categories (
    id INT NOT NULL PRIMARY KEY, parent_id INT NULL, label VARCHAR(100) NOT NULL,
    CONSTRAINT fk_cat_parent FOREIGN KEY (parent_id) REFERENCES categories (id)) ENGINE=InnoDB`,
  `CREATE TABLE reviews (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, book_id INT UNSIGNED NOT NULL, rating TINYINT NOT NULL,
    body TEXT NULL, CONSTRAINT fk_reviews_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE) ENGINE=InnoDB`,
  `CREATE TABLE audit_log (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, table_name VARCHAR(64) NOT NULL, row_id BIGINT NOT NULL,
    action VARCHAR(16) NOT NULL, info VARCHAR(400) NULL) ENGINE=InnoDB`,
  `CREATE TABLE book_categories (
    book_id INT UNSIGNED NOT NULL, category_id INT NOT NULL, \`order\` INT NOT NULL DEFAULT 0,
    PRIMARY KEY (book_id, category_id),
    CONSTRAINT fk_bc_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE,
    CONSTRAINT fk_bc_cat FOREIGN KEY (category_id) REFERENCES categories (id)) ENGINE=InnoDB`,
  `CREATE TABLE event_stream (kind VARCHAR(32) NOT NULL, payload JSON NULL, happened_at DATETIME(3) NULL) ENGINE=InnoDB`,
  `CREATE TABLE empty_things (id INT NOT NULL PRIMARY KEY, \`key\` VARCHAR(10) NULL) ENGINE=InnoDB`,
  `CREATE TABLE places (
    id INT NOT NULL PRIMARY KEY, name VARCHAR(100) NULL, loc POINT NOT NULL, area POLYGON NULL, shape GEOMETRY NULL,
    SPATIAL INDEX sp_loc (loc)) ENGINE=InnoDB`,
  `CREATE TABLE samples (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    small_blob BLOB NULL, big_blob LONGBLOB NULL, doc JSON NULL, amount DECIMAL(30,10) NULL, flags BIT(10) NULL,
    mood ENUM('happy','sad','ñ Ω ☃','quote''s') NULL, tags SET('red','green','blue','ünï') NULL,
    big BIGINT UNSIGNED NULL, neg BIGINT NULL, f FLOAT NULL, d DOUBLE NULL, t TIME(6) NULL, yr YEAR NULL,
    dt DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00', da DATE NOT NULL DEFAULT '0000-00-00',
    ts TIMESTAMP NOT NULL DEFAULT '0000-00-00 00:00:00', dt6 DATETIME(6) NULL, txt TEXT NULL, \`key\` VARCHAR(20) NULL,
    txt_len INT AS (CHAR_LENGTH(txt)) STORED, amount_x2 DECIMAL(31,10) AS (amount * 2) VIRTUAL) ENGINE=InnoDB`,
  // Two BEFORE INSERT triggers in a fixed order; both change values, so firing them during load corrupts data.
  `CREATE TRIGGER books_bi_slug BEFORE INSERT ON books FOR EACH ROW SET NEW.slug = LOWER(REPLACE(NEW.title, ' ', '-'))`,
  `CREATE TRIGGER books_bi_marker BEFORE INSERT ON books FOR EACH ROW FOLLOWS books_bi_slug
    SET NEW.notes = CONCAT(IFNULL(NEW.notes, ''), ' [ins]')`,
  `CREATE TRIGGER reviews_ai_audit AFTER INSERT ON reviews FOR EACH ROW
    INSERT INTO audit_log (table_name, row_id, action, info) VALUES ('reviews', NEW.id, 'insert', CONCAT('rating=', NEW.rating))`,
  `CREATE TRIGGER samples_bu BEFORE UPDATE ON samples FOR EACH ROW BEGIN
    IF NEW.txt <=> OLD.txt THEN SET NEW.\`key\` = 'same'; ELSE SET NEW.\`key\` = 'changed'; END IF; END`,
  `CREATE VIEW book_overview AS SELECT b.id AS book_id, b.title, a.name AS author, b.price_with_tax
    FROM books b JOIN authors a ON a.id = b.author_id`,
  `CREATE VIEW prolific_authors AS SELECT author, COUNT(*) AS n FROM book_overview GROUP BY author HAVING COUNT(*) > 1`,
  `CREATE FUNCTION book_label(b INT UNSIGNED) RETURNS VARCHAR(600) CHARSET utf8mb4 READS SQL DATA
    RETURN (SELECT CONCAT(title, ';\n — ', IFNULL(slug, '?')) FROM books WHERE id = b)`, // literal ';' + newline
  `CREATE PROCEDURE add_review(IN b INT UNSIGNED, IN r TINYINT, IN txt TEXT) MODIFIES SQL DATA BEGIN
    DECLARE msg VARCHAR(100) DEFAULT 'it''s "ok"; \\\\ done';
    INSERT INTO reviews (book_id, rating, body) VALUES (b, r, CONCAT(txt, msg)); END`,
  `CREATE VIEW book_labels AS SELECT id, book_label(id) AS label FROM books`, // a view that needs a stored function
  `CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' ON COMPLETION PRESERVE DISABLE
    COMMENT 'purges Ω audit' DO DELETE FROM audit_log WHERE id < 0`,
];

// Bulk-inserts rows as one statement per 100 rows.
async function insert(conn: Connection, table: string, cols: string[], rows: SqlValue[][]): Promise<void> {
  const list = cols.map((c) => `\`${c}\``).join(', ');
  for (let i = 0; i < rows.length; i += 100) {
    await conn.query(`INSERT INTO \`${table}\` (${list}) VALUES ?`, [rows.slice(i, i + 100)]);
  }
}

// Creates database `db` with the hard schema and deterministic data (~`rows` rows per main table).
export async function createHardSchema(db: string, opts: { rows?: number } = {}): Promise<{ tables: string[] }> {
  const n = opts.rows ?? 200;
  const rnd = prng(0xdbf3);
  const int = (max: number): number => Math.floor(rnd() * max);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const text = (): string => `${pick(NASTY_STRINGS)} #${int(1e6)} ${pick(NASTY_STRINGS)}`;
  const maybe = <T>(v: T): T | null => (rnd() < 0.15 ? null : v);
  const bytes = (len: number): Buffer => {
    const b = Buffer.from(Array.from({ length: len }, () => int(256)));
    return Buffer.concat([Buffer.from([0x00, 0x0a, 0x0d, 0x27, 0x5c, 0x22, 0x1a, 0xff, 0x80]), b]);
  };

  const conn = await rootConnection();
  try {
    await conn.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await conn.query(`USE \`${db}\``);
    await conn.query(`SET SESSION sql_mode = '', SESSION time_zone = '+00:00'`);
    for (const ddl of HARD_SCHEMA_DDL) await conn.query(ddl);

    const ids = (count: number): number[] => Array.from({ length: count }, (_, i) => i + 1);
    await insert(
      conn,
      'authors',
      ['id', 'name', 'bio', 'favourite_book_id', 'born', 'created_at'],
      ids(n).map((i) => [
        i,
        `${pick(NASTY_STRINGS)} ${i}`,
        maybe(text()),
        null,
        i % 7 === 0 ? '0000-00-00' : i % 11 === 0 ? raw('DEFAULT') : `19${10 + (i % 90)}-0${1 + (i % 9)}-1${i % 10}`,
        i % 5 === 0 ? '0000-00-00 00:00:00' : `2020-02-29 23:59:${String(i % 60).padStart(2, '0')}`,
      ]),
    );
    await insert(
      conn,
      'books',
      ['id', 'author_id', 'title', 'notes', 'price'],
      ids(n).map((i) => [i, 1 + int(n), `${pick(NASTY_STRINGS)} vol ${i}`, maybe(text()), maybe((int(10_000_000) / 100).toFixed(2))]),
    );
    // Second pass closes the FK cycle and makes slugs differ from what the trigger would compute.
    await conn.query('UPDATE authors SET favourite_book_id = 1 + ((id * 7) % ?) WHERE id % 3 <> 0', [n]);
    await conn.query("UPDATE books SET slug = CONCAT('custom-', id, '-', slug) WHERE id % 3 = 0");

    const nCat = Math.max(10, Math.floor(n / 4));
    await insert(
      conn,
      'categories',
      ['id', 'parent_id', 'label'],
      ids(nCat).map((i) => [i, null, `cat ${pick(NASTY_STRINGS)}`]),
    );
    await conn.query('UPDATE categories SET parent_id = CASE WHEN id = 1 THEN NULL WHEN id % 2 = 0 THEN id - 1 ELSE ? - id + 1 END', [
      nCat,
    ]);

    await insert(
      conn,
      'reviews',
      ['book_id', 'rating', 'body'],
      ids(n * 2).map(() => [1 + int(n), 1 + int(5), maybe(text())]),
    );
    await conn.query('CALL add_review(1, 5, ?)', ['via procedure 🦀 ']);

    const pairs = new Set<string>();
    while (pairs.size < Math.min(n * 1.5, n * nCat)) pairs.add(`${1 + int(n)}:${1 + int(nCat)}`);
    await insert(
      conn,
      'book_categories',
      ['book_id', 'category_id', 'order'],
      [...pairs].map((p, i) => [...p.split(':').map(Number), i - 50] as SqlValue[]),
    );

    const streamRows = ids(n).map(
      (i) =>
        [
          pick(['click', 'view', 'view', 'buy']),
          maybe(JSON.stringify({ i: i % 10, u: pick(NASTY_STRINGS) })),
          maybe(`2024-01-01 00:00:0${i % 3}.${i % 2 ? '500' : '000'}`),
        ] as SqlValue[],
    );
    await insert(conn, 'event_stream', ['kind', 'payload', 'happened_at'], [...streamRows, ...streamRows.slice(0, 20)]); // exact duplicates

    await insert(
      conn,
      'places',
      ['id', 'name', 'loc', 'area', 'shape'],
      ids(n).map((i) => {
        const x = (int(36000) - 18000) / 100,
          y = (int(18000) - 9000) / 100;
        const poly = `POLYGON((${x} ${y}, ${x + 1} ${y}, ${x + 1} ${y + 1}, ${x} ${y}))`;
        const shapes = [`LINESTRING(0 0, ${x} ${y})`, `MULTIPOINT(1 1, ${x} ${y})`, `GEOMETRYCOLLECTION(POINT(${y} ${x}))`, poly];
        return [
          i,
          maybe(pick(NASTY_STRINGS)),
          raw(conn.format('ST_GeomFromText(?, 0)', [`POINT(${x} ${y})`])),
          rnd() < 0.2 ? null : raw(conn.format('ST_GeomFromText(?, 0)', [poly])),
          rnd() < 0.2 ? null : raw(conn.format('ST_GeomFromText(?, 0)', [pick(shapes)])),
        ];
      }),
    );

    const jsonDocs = [
      '{"a":[1,2.5,{"b":"🦀 日本語"}],"s":"q\\" bs\\\\ nl\\n","n":null,"t":true}',
      '[]',
      '{}',
      '"just a string"',
      '{"deep":{"er":{"est":[[[]],{"x":-0.0001e-10}]}},"big":18446744073709551615}',
      'null',
      '[1,"\\u0000",{"k":"\\ud83e\\udd80"}]',
    ];
    await insert(
      conn,
      'samples',
      [
        'small_blob',
        'big_blob',
        'doc',
        'amount',
        'flags',
        'mood',
        'tags',
        'big',
        'neg',
        'f',
        'd',
        't',
        'yr',
        'dt',
        'da',
        'ts',
        'dt6',
        'txt',
        'key',
      ],
      ids(n).map((i) => [
        maybe(bytes(int(200))),
        i % 50 === 1 ? bytes(70_000) : maybe(bytes(int(2000))),
        maybe(pick(jsonDocs)),
        maybe(`${int(2) ? '-' : ''}${int(1e9)}.${String(int(1e10)).padStart(10, '0')}`),
        maybe(int(1024)),
        maybe(pick(['happy', 'sad', 'ñ Ω ☃', "quote's", ''])),
        maybe(pick(['', 'red', 'red,blue', 'green,ünï', 'red,green,blue,ünï'])),
        maybe(`1844674407370955${1600 + int(16)}`),
        maybe(pick(['-9223372036854775808', '9223372036854775807', '0', String(i)])),
        maybe(pick([0.5, -1.25, 3.40282e38, 1e-38, 0, 123456, -0.0078125, 1.17549e-38])),
        maybe(pick([Math.PI, -1e-300, 1.7976931348623157e308, 0.1, 2 / 3, i / 7])),
        maybe(pick(['-838:59:59.000000', '838:59:59.999999', '00:00:00.000001', '-00:00:01.5', `${i}:01:02.345678`])),
        maybe(pick([0, 1901, 2155, 2024])),
        i % 4 === 0 ? '0000-00-00 00:00:00' : i % 4 === 1 ? raw('DEFAULT') : i % 8 === 2 ? '2020-00-15 10:00:00' : '9999-12-31 23:59:59',
        i % 3 === 0 ? '0000-00-00' : i % 3 === 1 ? '2024-02-00' : '1000-01-01',
        i % 3 === 0 ? '0000-00-00 00:00:00' : i % 3 === 1 ? raw('DEFAULT') : '2038-01-19 03:14:07',
        maybe(`2024-06-30 12:34:56.${String(int(1e6)).padStart(6, '0')}`),
        maybe(text()),
        maybe(pick(NASTY_STRINGS).slice(0, 20)),
      ]),
    );
    await conn.query(
      "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'; INSERT INTO samples (id, txt) VALUES (0, 'id zero'); SET SESSION sql_mode = ''",
    );
    await conn.query("UPDATE samples SET txt = CONCAT(IFNULL(txt, ''), '!') WHERE id % 10 = 0"); // fires samples_bu
  } finally {
    await conn.end();
  }
  return {
    tables: [
      'audit_log',
      'authors',
      'book_categories',
      'books',
      'categories',
      'empty_things',
      'event_stream',
      'places',
      'reviews',
      'samples',
    ],
  };
}

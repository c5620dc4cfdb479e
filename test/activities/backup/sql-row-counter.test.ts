// Counting rows per table in mysqldump streams of both layouts, across chunk boundaries.
import { describe, expect, it } from 'vitest';
import { SqlRowCounter } from '../../../src/activities/backup/sql-row-counter.ts';

// The shape of MariaDB 10.11's mysqldump: one row per line, strings escaped with backslashes.
const MARIADB_DUMP = [
  '/*M!999999\\- enable the sandbox mode */ ',
  '-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB',
  '--',
  '-- Table structure for table `o``dd`',
  '--',
  'CREATE TABLE `o``dd` (',
  "  `id` int(11) NOT NULL DEFAULT 0 COMMENT 'INSERT INTO `o``dd` VALUES (1);',",
  '  PRIMARY KEY (`id`)',
  ') ENGINE=InnoDB;',
  '--',
  '-- Dumping data for table `o``dd`',
  '--',
  '',
  'LOCK TABLES `o``dd` WRITE;',
  '/*!40000 ALTER TABLE `o``dd` DISABLE KEYS */;',
  'INSERT INTO `o``dd` VALUES',
  "(1,'it\\'s ( a ) test; \\\\',NULL),",
  "(2,'),(\\'),(''',0x28292C28),",
  "(3,'line1\\nline2 (',-1.5e10);",
  'INSERT INTO `o``dd` VALUES',
  "(4,'🦀 日本語 ñ',NULL);",
  '/*!40000 ALTER TABLE `o``dd` ENABLE KEYS */;',
  'UNLOCK TABLES;',
  '--',
  '-- Dumping data for table `empty`',
  '--',
  'LOCK TABLES `empty` WRITE;',
  'UNLOCK TABLES;',
  '--',
  '-- Dumping data for table `t2`',
  '--',
  'LOCK TABLES `t2` WRITE;',
  'INSERT INTO `t2` VALUES',
  "(1,'\\\\'),",
  "(2,'\\\\\\'(');",
  'UNLOCK TABLES;',
  'DELIMITER ;;',
  '/*!50003 CREATE*/ /*!50003 TRIGGER t2_ai AFTER INSERT ON t2 FOR EACH ROW',
  "INSERT INTO `t2` VALUES (99, 'x'), (100, 'y') */;;",
  'DELIMITER ;',
  '-- Dump completed',
  '',
].join('\n');

const EXPECTED = [
  { table: 'o`dd', rows: 4 },
  { table: 'empty', rows: 0 },
  { table: 't2', rows: 2 },
];

function count(chunks: Buffer[]) {
  const counter = new SqlRowCounter();
  for (const chunk of chunks) counter.push(chunk);
  return { tables: counter.tables(), bytes: counter.bytes };
}

/** Splits a buffer at the given offsets. */
const splitAt = (buf: Buffer, cuts: number[]): Buffer[] => {
  const points = [0, ...cuts.filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b), buf.length];
  return points.slice(1).map((end, i) => buf.subarray(points[i], end));
};

describe('counting rows in a mysqldump stream', () => {
  it('counts rows per table, ignoring parentheses, quotes and statements inside strings and schema objects', () => {
    const bytes = Buffer.from(MARIADB_DUMP);
    expect(count([bytes])).toEqual({ tables: EXPECTED, bytes: bytes.length });
  });

  it('gives the same counts however the stream is cut into chunks', () => {
    const bytes = Buffer.from(MARIADB_DUMP);
    // Every single cut point (escapes, quotes, multi-byte characters and line heads split in two)…
    for (let cut = 1; cut < bytes.length; cut++) expect(count(splitAt(bytes, [cut])).tables, `cut at ${cut}`).toEqual(EXPECTED);
    // …one byte at a time, and random multi-cuts.
    expect(
      count(
        splitAt(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
        ),
      ).tables,
    ).toEqual(EXPECTED);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 200; run++) {
      const cuts = Array.from({ length: 1 + Math.floor(random() * 20) }, () => Math.floor(random() * bytes.length));
      expect(count(splitAt(bytes, cuts)).tables).toEqual(EXPECTED);
    }
  });

  it('counts MySQL-style extended inserts, with all rows of a statement on one line', () => {
    const oneLine = MARIADB_DUMP.replace(/VALUES\n/g, 'VALUES ').replace(/\),\n\(/g, '),(');
    expect(oneLine).toContain("INSERT INTO `o``dd` VALUES (1,'it");
    expect(count([Buffer.from(oneLine)]).tables).toEqual(EXPECTED);
  });

  it('counts one-row INSERT statements (--skip-extended-insert)', () => {
    const rows = Array.from({ length: 1500 }, (_, i) => `INSERT INTO \`big\` VALUES (${i},'${'x'.repeat(i % 700)}\\'(');`);
    const dump = ['-- Dumping data for table `big`', 'LOCK TABLES `big` WRITE;', ...rows, 'UNLOCK TABLES;', ''].join('\n');
    expect(count(splitAt(Buffer.from(dump), [100, 5000, 77777])).tables).toEqual([{ table: 'big', rows: 1500 }]);
  });
});

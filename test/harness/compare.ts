// Snapshots a database's data checksums and schema objects in a form that is equal for a faithful copy.
import { expect } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { rootConnection } from './mysql.ts';

type Row = Record<string, unknown>;

// Everything a copy must preserve, keyed so that vitest's diff points at the culprit.
export interface DatabaseSnapshot {
  database: Row;
  tables: Record<string, { checksum: string | null; rows: string; options: Row; columns: Row[]; indexes: Row[]; foreignKeys: Row[] }>;
  views: Row[];
  routines: Row[];
  triggers: Row[];
  events: Row[];
}

const esc = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

// Removes `db`. qualifiers (quoted and bare) so a view in the source and one in the copy compare equal.
export function stripDbQualifiers(sql: string, db: string): string {
  const bare = db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return sql
    .split(`${esc(db)}.`)
    .join('')
    .replace(new RegExp(`\\b${bare}\\.`, 'g'), '');
}

// Reads the snapshot of `db`: per-table CHECKSUM/COUNT/columns/indexes/FKs plus views, routines, triggers, events.
export async function describeDatabase(db: string): Promise<DatabaseSnapshot> {
  const conn = await rootConnection();
  const q = async (sql: string, params: unknown[] = [db]): Promise<Row[]> => (await conn.query<RowDataPacket[]>(sql, params))[0];
  try {
    const [database = {}] = await q(`SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation
      FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`);
    const tableRows = await q(`SELECT TABLE_NAME AS name, ENGINE AS engine, TABLE_COLLATION AS collation, ROW_FORMAT AS rowFormat,
      CREATE_OPTIONS AS createOptions, TABLE_COMMENT AS comment FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`);
    const columns = await q(`SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
      COLUMN_DEFAULT AS \`default\`, GENERATION_EXPRESSION AS generation, EXTRA AS extra, CHARACTER_SET_NAME AS charset,
      COLLATION_NAME AS collation, COLUMN_COMMENT AS comment FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`);
    const indexes = await q(`SELECT TABLE_NAME AS tbl, INDEX_NAME AS name, NON_UNIQUE AS nonUnique, INDEX_TYPE AS type,
      GROUP_CONCAT(CONCAT(COLUMN_NAME, IFNULL(CONCAT('(', SUB_PART, ')'), '')) ORDER BY SEQ_IN_INDEX) AS cols
      FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE
      ORDER BY TABLE_NAME, INDEX_NAME`);
    const fks = await q(`SELECT rc.TABLE_NAME AS tbl, rc.CONSTRAINT_NAME AS name, rc.REFERENCED_TABLE_NAME AS refTable,
      rc.UPDATE_RULE AS onUpdate, rc.DELETE_RULE AS onDelete,
      (SELECT GROUP_CONCAT(CONCAT(k.COLUMN_NAME, '->', k.REFERENCED_COLUMN_NAME) ORDER BY k.ORDINAL_POSITION)
        FROM information_schema.KEY_COLUMN_USAGE k WHERE k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA
        AND k.TABLE_NAME = rc.TABLE_NAME AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME) AS cols
      FROM information_schema.REFERENTIAL_CONSTRAINTS rc WHERE rc.CONSTRAINT_SCHEMA = ? ORDER BY rc.TABLE_NAME, rc.CONSTRAINT_NAME`);
    const byTable = (rows: Row[], tbl: string): Row[] => rows.filter((r) => r.tbl === tbl).map(({ tbl: _tbl, ...rest }) => rest);

    const tables: DatabaseSnapshot['tables'] = {};
    for (const { name, ...options } of tableRows) {
      const t = String(name);
      const [sum] = await q(`CHECKSUM TABLE ${esc(db)}.${esc(t)} EXTENDED`, []);
      const [count] = await q(`SELECT COUNT(*) AS n FROM ${esc(db)}.${esc(t)}`, []);
      tables[t] = {
        checksum: sum?.Checksum == null ? null : String(sum.Checksum),
        rows: String(count?.n),
        options,
        columns: byTable(columns, t),
        indexes: byTable(indexes, t),
        foreignKeys: byTable(fks, t),
      };
    }
    const views = (
      await q(`SELECT TABLE_NAME AS name, VIEW_DEFINITION AS definition, CHECK_OPTION AS checkOption,
      IS_UPDATABLE AS updatable, SECURITY_TYPE AS security, ALGORITHM AS algorithm, CHARACTER_SET_CLIENT AS charsetClient
      FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`)
    ).map((v) => ({ ...v, definition: stripDbQualifiers(String(v.definition), db) }));
    const routines = await q(`SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type, DTD_IDENTIFIER AS returns,
      ROUTINE_DEFINITION AS body, IS_DETERMINISTIC AS isDeterministic, SQL_DATA_ACCESS AS dataAccess, SECURITY_TYPE AS security,
      SQL_MODE AS sqlMode, ROUTINE_COMMENT AS comment, DEFINER AS definer, CHARACTER_SET_CLIENT AS charsetClient,
      COLLATION_CONNECTION AS collationConnection, DATABASE_COLLATION AS databaseCollation,
      (SELECT GROUP_CONCAT(CONCAT_WS(' ', p.PARAMETER_MODE, p.PARAMETER_NAME, p.DTD_IDENTIFIER) ORDER BY p.ORDINAL_POSITION)
        FROM information_schema.PARAMETERS p WHERE p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA AND p.SPECIFIC_NAME = r.SPECIFIC_NAME
        AND p.ORDINAL_POSITION > 0) AS params
      FROM information_schema.ROUTINES r WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME`);
    const triggers = await q(`SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS tbl, ACTION_TIMING AS timing,
      EVENT_MANIPULATION AS event, ACTION_ORDER AS actionOrder, ACTION_STATEMENT AS statement, SQL_MODE AS sqlMode,
      DEFINER AS definer, CHARACTER_SET_CLIENT AS charsetClient, COLLATION_CONNECTION AS collationConnection,
      DATABASE_COLLATION AS databaseCollation FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME`);
    const events = await q(`SELECT EVENT_NAME AS name, EVENT_DEFINITION AS definition, EVENT_TYPE AS type,
      INTERVAL_VALUE AS intervalValue, INTERVAL_FIELD AS intervalField, STARTS AS starts, ENDS AS ends, STATUS AS status,
      ON_COMPLETION AS onCompletion, SQL_MODE AS sqlMode, TIME_ZONE AS timeZone, EVENT_COMMENT AS comment, DEFINER AS definer,
      CHARACTER_SET_CLIENT AS charsetClient, COLLATION_CONNECTION AS collationConnection, DATABASE_COLLATION AS databaseCollation
      FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME`);
    return { database, tables, views, routines, triggers, events };
  } finally {
    await conn.end();
  }
}

// Asserts that `copy` is a faithful copy of `source` (vitest prints a structural diff on mismatch).
export async function expectSameDatabase(source: string, copy: string): Promise<void> {
  const [a, b] = await Promise.all([describeDatabase(source), describeDatabase(copy)]);
  const missing = (s: DatabaseSnapshot): string[] =>
    Object.entries(s.tables)
      .filter(([, t]) => t.checksum === null)
      .map(([n]) => n);
  expect(missing(a), `CHECKSUM TABLE returned NULL in ${source}`).toEqual([]);
  expect(missing(b), `CHECKSUM TABLE returned NULL in ${copy}`).toEqual([]);
  expect(b, `${copy} differs from ${source}`).toEqual(a);
}

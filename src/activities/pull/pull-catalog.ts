// The source's catalogue as a pull sees it: tables, columns, unique keys and foreign keys.
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { ForeignKey } from './fk-graph.ts';
import { WORKSPACE_PREFIX } from '../../workflows/pull/contracts.ts';

// What a pull needs to know about the source database, read once from information_schema. Every
// name a profile uses is checked against this before any statement is built.

export interface CatalogColumn {
  table: string;
  name: string;
  dataType: string;
  maxLength: number | null;
  nullable: boolean;
  generated: boolean;
  /** In a unique index or the primary key (alone or with other columns): fakes written to it must not repeat. */
  unique?: boolean;
  /**
   * The shortest prefix (SUB_PART) a unique index holds of this column, or null when every unique
   * index holding it covers the whole value: only the first this-many characters must differ.
   */
  uniquePrefix?: number | null;
}

export interface Catalog {
  /** Base tables (views are not pulled). */
  tables: string[];
  columns: CatalogColumn[];
  primaryKeys: Record<string, string[]>;
  foreignKeys: ForeignKey[];
  /** Approximate rows per table (information_schema), for planning only. */
  approxRows: Record<string, number>;
}

type Queryable = Pool | PoolConnection;

/** Reads tables, columns, primary keys, unique indexes and foreign keys of `database`. */
export async function readCatalog(db: Queryable, database: string): Promise<Catalog> {
  const [tables] = await db.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [database],
  );
  const [columns] = await db.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS type, CHARACTER_MAXIMUM_LENGTH AS len, IS_NULLABLE AS nullable,
            EXTRA AS extra, GENERATION_EXPRESSION AS gen
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [database],
  );
  // Every column of every unique index, the primary key included (its columns in key order).
  // Functional key parts (MySQL 8) have no COLUMN_NAME and are skipped.
  const [keys] = await db.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t, INDEX_NAME AS i, COLUMN_NAME AS c, SUB_PART AS part FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND NON_UNIQUE = 0 AND COLUMN_NAME IS NOT NULL ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [database],
  );
  const [fkColumns] = await db.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS name, COLUMN_NAME AS c, REFERENCED_TABLE_NAME AS rt, REFERENCED_COLUMN_NAME AS rc
       FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL
      ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
    [database, database],
  );
  // Another pull's workspace copies (the tables strategy) are never part of the source.
  const baseTables = new Set(tables.map((r) => String(r.t)).filter((t) => !t.startsWith(WORKSPACE_PREFIX)));
  const primaryKeys: Record<string, string[]> = {};
  /** `table\0column` → shortest unique prefix (null: the whole value). */
  const uniques = new Map<string, number | null>();
  for (const k of keys) {
    if (String(k.i) === 'PRIMARY') (primaryKeys[String(k.t)] ??= []).push(String(k.c));
    const id = `${k.t}\u0000${k.c}`;
    const part = k.part == null ? null : Number(k.part);
    const seen = uniques.get(id);
    uniques.set(id, seen === undefined ? part : part === null ? seen : seen === null ? part : Math.min(seen, part));
  }
  const fks = new Map<string, ForeignKey>();
  for (const r of fkColumns) {
    const id = `${r.t}\u0000${r.name}`;
    let fk = fks.get(id);
    if (!fk) fks.set(id, (fk = { name: String(r.name), table: String(r.t), columns: [], refTable: String(r.rt), refColumns: [] }));
    fk.columns.push(String(r.c));
    fk.refColumns.push(String(r.rc));
  }
  return {
    tables: [...baseTables],
    columns: columns
      .filter((c) => baseTables.has(String(c.t)))
      .map((c) => ({
        table: String(c.t),
        name: String(c.c),
        dataType: String(c.type).toLowerCase(),
        maxLength: c.len == null ? null : Number(c.len),
        nullable: c.nullable === 'YES',
        generated: /VIRTUAL|STORED|PERSISTENT/i.test(String(c.extra ?? '')) || (c.gen != null && String(c.gen) !== ''),
        unique: uniques.has(`${c.t}\u0000${c.c}`),
        uniquePrefix: uniques.get(`${c.t}\u0000${c.c}`) ?? null,
      })),
    primaryKeys,
    foreignKeys: [...fks.values()],
    approxRows: Object.fromEntries(tables.map((r) => [String(r.t), Number(r.n ?? 0)])),
  };
}

// Routines, triggers and events read from a source with the session settings they were created
// under, and recreated exactly so in a destination (myloader alone changes them).
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import type { ActivityDeps } from '../deps.ts';

// Source catalogue names are quoted (not validated): they are whatever the source holds.
const q = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
const UTF8 = /^utf8(mb3|mb4)?$/i;

/** A routine, trigger or event with the session settings it was created under (stored in mydumper backups). */
export interface SchemaObject {
  kind: 'PROCEDURE' | 'FUNCTION' | 'TRIGGER' | 'EVENT';
  name: string;
  sqlMode: string;
  create: string;
  charsetClient: string;
  collationConnection: string;
  timeZone: string | null;
}

/** Reads every routine, trigger and event of a database with the session settings it was created under. */
export async function readSchemaObjects(pool: Pool, db: string): Promise<SchemaObject[]> {
  const [routines] = await pool.query<RowDataPacket[]>(
    'SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS kind FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_NAME',
    [db],
  );
  const [triggers] = await pool.query<RowDataPacket[]>(
    'SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER',
    [db],
  );
  const [events] = await pool.query<RowDataPacket[]>(
    'SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME',
    [db],
  );
  const wanted = [
    ...routines.map((r) => ({ kind: String(r.kind) as 'PROCEDURE' | 'FUNCTION', name: String(r.name) })),
    ...triggers.map((r) => ({ kind: 'TRIGGER' as const, name: String(r.name) })),
    ...events.map((r) => ({ kind: 'EVENT' as const, name: String(r.name) })),
  ];
  const objects: SchemaObject[] = [];
  for (const { kind, name } of wanted) {
    const [rows] = await pool.query<RowDataPacket[]>(`SHOW CREATE ${kind} ${q(db)}.${q(name)}`);
    const row = rows[0];
    if (!row) continue; // dropped since we listed it
    const create = row[kind === 'TRIGGER' ? 'SQL Original Statement' : `Create ${kind[0]}${kind.slice(1).toLowerCase()}`];
    objects.push({
      kind,
      name,
      sqlMode: String(row.sql_mode ?? ''),
      create: String(create),
      charsetClient: String(row.character_set_client),
      collationConnection: String(row.collation_connection),
      timeZone: kind === 'EVENT' ? String(row.time_zone) : null,
    });
  }
  return objects;
}

/** Recreates one object in the destination under the source's sql_mode, charset and time zone. */
async function recreate(conn: PoolConnection, object: SchemaObject): Promise<void> {
  await conn.query(`DROP ${object.kind} IF EXISTS ${q(object.name)}`);
  await conn.query('SET SESSION sql_mode = ?', [object.sqlMode]);
  if (object.timeZone) await conn.query('SET SESSION time_zone = ?', [object.timeZone]);
  // mysql2 sends utf8mb4 bytes; only a UTF-8 client charset can be restored without mangling the text.
  if (UTF8.test(object.charsetClient)) {
    await conn.query('SET character_set_client = ?, collation_connection = ?', [object.charsetClient, object.collationConnection]);
  }
  try {
    await conn.query(object.create);
  } finally {
    await conn.query('SET NAMES utf8mb4, SESSION sql_mode = DEFAULT, SESSION time_zone = DEFAULT');
  }
}

/**
 * Recreates `objects` in `database`, after dropping every routine, trigger and event it has, so
 * triggers come back in the source's action order.
 */
export async function recreateSchemaObjectsIn(pool: Pool, database: string, objects: SchemaObject[]): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await conn.query(`USE ${quoteIdentifier(database)}`);
    const [existing] = await conn.query<RowDataPacket[]>(
      `SELECT 'TRIGGER' AS kind, TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
       UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?
       UNION ALL SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?`,
      [database, database, database],
    );
    for (const row of existing) await conn.query(`DROP ${String(row.kind)} IF EXISTS ${q(String(row.name))}`);
    for (const object of objects) await recreate(conn, object);
  } finally {
    conn.release();
  }
}

export function createSchemaObjectActivities(deps: Pick<ActivityDeps, 'pools'>) {
  return {
    /**
     * Recreates routines, triggers and events exactly as the source has them. myloader 0.10 loads them
     * under its own sql_mode and splits their bodies on ";\n", which changes them; this puts them right.
     */
    async recreateSchemaObjects({
      source,
      destination,
    }: {
      source: DatabaseRef;
      destination: DatabaseRef;
    }): Promise<{ recreated: number }> {
      const objects = await readSchemaObjects(deps.pools.get(source.connection), source.database);
      await recreateSchemaObjectsIn(deps.pools.get(destination.connection), destination.database, objects);
      return { recreated: objects.length };
    },
  };
}

// Rewrites the workspace's dump into a dump of the source's tables: original names, the source's own DDL.
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../../shared/names.ts';
import { classifyDumpFiles } from '../tools/dump-files.ts';
import type { WorkspaceLayout } from './workspace-layout.ts';

// The workspace's copies are made with CREATE TABLE … LIKE in a faster engine and, for the tables
// strategy, under prefixed names (`<workspace>_t_users`). Before the dump is loaded it must look
// like a dump of the source: files and INSERT statements under the original names, and each
// table's DDL as the source has it (engine and foreign keys included).

/** The source's `SHOW CREATE TABLE` of each table. */
export async function showCreateTables(conn: PoolConnection, database: string, tables: string[]): Promise<Map<string, string>> {
  const ddl = new Map<string, string>();
  for (const table of tables) {
    const [rows] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteIdentifier(database)}.${quoteIdentifier(table)}`);
    const create = String(rows[0]?.['Create Table'] ?? '');
    if (!create.startsWith('CREATE TABLE')) throw new Error(`unexpected SHOW CREATE TABLE output for ${table}`);
    ddl.set(table, create);
  }
  return ddl;
}

/** A sed expression that renames the statement's table: identifiers are [A-Za-z0-9_$], so only `$` needs escaping. */
const sedRename = (copy: string, verb: 'INSERT' | 'REPLACE', table: string): string =>
  `s/^INSERT INTO \`${copy.replace(/\$/g, '\\$')}\`/${verb} INTO \`${table}\`/`;

/**
 * Rewrites a mydumper directory of workspace copies into a dump of the original tables: data files
 * renamed and their INSERTs pointed at the original name (REPLACE for delta tables, which are
 * upserted), schema files replaced by the source's DDL (none for delta tables, which keep the
 * destination's table). `ddl` holds the DDL of every pulled table.
 */
export async function renameDumpedCopies(
  dir: string,
  layout: WorkspaceLayout,
  ddl: Map<string, string>,
  deltaTables: ReadonlySet<string>,
  direct: ReadonlySet<string> = new Set(),
): Promise<void> {
  const originals = layout.originalNames([...ddl.keys()]);
  const listing = classifyDumpFiles(layout.database, await readdir(dir));
  // Direct tables were dumped from the source tables themselves: names and DDL are right already.
  const copies = listing.tables.filter((t) => !direct.has(t));
  const data = listing.data.filter((d) => !direct.has(d.table));
  for (const copy of copies) {
    const table = originals.get(copy);
    if (table === undefined) throw new Error(`the dump holds ${copy}, which is not a copy of a pulled table`);
    await rm(join(dir, `${layout.database}.${copy}-schema.sql`));
    if (deltaTables.has(table)) continue;
    // The header mydumper writes, so FK checks stay off while myloader creates the table.
    await writeFile(
      join(dir, `${layout.database}.${table}-schema.sql`),
      `/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n\n/*!40103 SET TIME_ZONE='+00:00' */;\n${ddl.get(table)};\n`,
      { mode: 0o600 },
    );
  }
  const byTable = new Map<string, string[]>();
  for (const d of data) {
    const table = originals.get(d.table);
    if (table === undefined) throw new Error(`the dump holds data of ${d.table}, which is not a copy of a pulled table`);
    const renamed = `${layout.database}.${table}${d.file.slice(`${layout.database}.${d.table}`.length)}`;
    if (renamed !== d.file) await rename(join(dir, d.file), join(dir, renamed));
    byTable.set(d.table, [...(byTable.get(d.table) ?? []), renamed]);
  }
  // mydumper escapes newlines inside values, so a line starting with INSERT INTO is a statement.
  // A full table in a workspace database keeps its name: its files are left as they are.
  await Promise.all(
    [...byTable]
      .filter(([copy]) => copy !== originals.get(copy) || deltaTables.has(copy))
      .map(([copy, files]) => {
        const table = originals.get(copy)!;
        return execa('sed', ['-i', sedRename(copy, deltaTables.has(table) ? 'REPLACE' : 'INSERT', table), ...files], { cwd: dir });
      }),
  );
}

/**
 * Moves the direct tables' dump (mydumper of the source, in `from`) into the workspace's dump
 * directory under the workspace's file prefix, so one myloader run loads both. Statements in
 * mydumper files name tables without their database, so only the file names change.
 */
export async function adoptDirectDump(from: string, to: string, source: string, workspace: string, direct: string[]): Promise<void> {
  const wanted = new Set(direct);
  const { tables, views, data } = classifyDumpFiles(source, await readdir(from));
  const unexpected = [...tables, ...views, ...data.map((d) => d.table)].filter((t) => !wanted.has(t));
  if (unexpected.length) throw new Error(`the direct dump holds ${unexpected[0]}, which is not a direct table of the pull`);
  const schemas = tables.map((t) => `${source}.${t}-schema.sql`);
  for (const file of [...schemas, ...data.map((d) => d.file)]) {
    await rename(join(from, file), join(to, `${workspace}.${file.slice(source.length + 1)}`));
  }
  await rm(from, { recursive: true, force: true });
}

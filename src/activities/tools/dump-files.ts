// mydumper dump directories: which files are tables, views and data, how big they are, and how
// many rows they hold (counted by grep, not parsed).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/** Written beside mydumper's files: routines, triggers and events with their sql_mode, for restores. */
export const SCHEMA_OBJECTS_FILE = 'dbferry-schema-objects.json';

/** A mydumper data file: `db.table.sql` or, with --rows, `db.table.00003.sql`. */
export interface DataFile {
  file: string;
  table: string;
  part: number;
  bytes: number;
}

export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Splits a mydumper directory listing into base tables and data files for one database. */
export function classifyDumpFiles(
  database: string,
  files: string[],
): { tables: string[]; views: string[]; data: Array<Omit<DataFile, 'bytes'>> } {
  const db = escapeRegExp(database);
  const schema = new RegExp(`^${db}\\.(.+)-schema\\.sql$`);
  const view = new RegExp(`^${db}\\.(.+)-schema-view\\.sql$`);
  const data = new RegExp(`^${db}\\.(.+?)(?:\\.(\\d{5,}))?\\.sql$`);
  const views = new Set<string>();
  const schemas: string[] = [];
  const dataFiles: Array<Omit<DataFile, 'bytes'>> = [];
  for (const file of files) {
    let m: RegExpExecArray | null;
    if ((m = view.exec(file))) views.add(m[1]!);
    else if ((m = schema.exec(file))) schemas.push(m[1]!);
    else if (!file.includes('-schema') && (m = data.exec(file))) dataFiles.push({ file, table: m[1]!, part: Number(m[2] ?? 0) });
  }
  return { tables: schemas.filter((t) => !views.has(t)).sort(), views: [...views].sort(), data: dataFiles };
}

/** Lists a dump directory: its base tables, views and data files with their sizes. */
export async function readDumpDirectory(dir: string, database: string): Promise<{ tables: string[]; views: string[]; data: DataFile[] }> {
  const { tables, views, data } = classifyDumpFiles(database, await readdir(dir));
  const sized = await Promise.all(data.map(async (d) => ({ ...d, bytes: (await stat(join(dir, d.file))).size })));
  return { tables, views, data: sized };
}

/** Total size of the files in a directory (not recursive); missing files count as 0. */
export async function directoryBytes(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const sizes = await Promise.all(
    names.map((n) =>
      stat(join(dir, n)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * Counts the rows in mydumper data files. mydumper writes each row on its own line starting with
 * `(`, and escapes newlines inside values as `\n`, so lines starting with `(` are rows, exactly.
 * GNU grep does this at memory speed with a fraction of the CPU a JavaScript loop needs (measured:
 * 0.26 s against 0.86 s for 564 MB), and CPU is what the concurrent load is short of.
 */
export async function countRowsInDataFiles(dir: string, files: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < files.length; i += 500) {
    const batch = files.slice(i, i + 500);
    const result = await execa('grep', ['--count', '--text', '--with-filename', '--', '^(', ...batch], {
      cwd: dir,
      env: { LC_ALL: 'C' },
      reject: false,
      stripFinalNewline: true,
    });
    // grep exits 1 when no file had a match; only 2 and above are errors.
    if ((result.exitCode ?? 2) > 1) throw new Error(`counting dump rows failed: ${result.stderr}`);
    for (const line of result.stdout.split('\n')) {
      const at = line.lastIndexOf(':');
      if (at > 0) counts.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  }
  return counts;
}

/** Row counts per base table as written in the dump: the copy's expected row counts. */
export async function countDumpRows(dir: string, database: string): Promise<Map<string, number>> {
  const { tables, data } = await readDumpDirectory(dir, database);
  const counts = new Map<string, number>(tables.map((t) => [t, 0]));
  const perFile = await countRowsInDataFiles(
    dir,
    data.map((d) => d.file),
  );
  for (const d of data) counts.set(d.table, (counts.get(d.table) ?? 0) + (perFile.get(d.file) ?? 0));
  return counts;
}

// The mydumper and myloader command lines of a pull: which runs dump what, with which options, and what a load error looks like.
import { join } from 'node:path';
import { escapeRegExp } from '../tools/dump-files.ts';
import type { WorkspaceLayout } from './workspace-layout.ts';

/** One mydumper run of a pull's dump: its pid-file name, the database it reads, the tables it keeps. */
export interface MydumperRun {
  tool: 'mydumper' | 'mydumper-direct';
  database: string;
  /** mydumper's `--regex` over `database.table`, or null for every table of the database. */
  regex: string | null;
  outputDir: string;
}

/** Where the direct tables' own dump goes before it joins the workspace's (the database strategy only). */
export const directDumpDir = (dir: string): string => join(dir, 'direct');

const exactly = (names: string[]): string => `(${names.map(escapeRegExp).join('|')})$`;

/**
 * The mydumper runs that dump a pull into `dir`. The tables strategy takes one run over the source
 * database: the workspace's copies and the direct tables, never another table. The database
 * strategy dumps the workspace database whole and, beside it, the direct tables from `source`.
 */
export function planDumpRuns(layout: WorkspaceLayout, dir: string, source: string | null, direct: string[]): MydumperRun[] {
  if (layout.strategy === 'tables') {
    const copiesOrDirect = direct.length ? `(${escapeRegExp(layout.copyPrefix)}|${exactly(direct)})` : escapeRegExp(layout.copyPrefix);
    return [
      { tool: 'mydumper', database: layout.database, regex: `^${escapeRegExp(layout.database)}\\.${copiesOrDirect}`, outputDir: dir },
    ];
  }
  const runs: MydumperRun[] = [{ tool: 'mydumper', database: layout.database, regex: null, outputDir: dir }];
  if (direct.length && source !== null)
    runs.push({
      tool: 'mydumper-direct',
      database: source,
      regex: `^${escapeRegExp(source)}\\.${exactly(direct)}`,
      outputDir: directDumpDir(dir),
    });
  return runs;
}

/**
 * mydumper's arguments for one run. --no-locks: nobody else writes the workspace, so no FLUSH
 * TABLES WITH READ LOCK, which on the source's server would stall every production writer (and
 * needs RELOAD). A direct table is read like the INSERT … SELECT of a copy would: each thread in
 * its own snapshot.
 */
export function mydumperArgs(run: MydumperRun, threads: number): string[] {
  return [
    '--database',
    run.database,
    ...(run.regex === null ? [] : ['--regex', run.regex]),
    '--outputdir',
    run.outputDir,
    '--threads',
    String(threads),
    '--rows',
    '200000',
    '--no-locks',
    '--verbose',
    '3',
  ];
}

/**
 * myloader's arguments: full tables, which have schema files, are dropped and recreated
 * (--overwrite-tables); delta tables have none and are upserted by their REPLACE statements.
 */
export function myloaderArgs(dumpDir: string, database: string, threads: number): string[] {
  return ['--directory', dumpDir, '--database', database, '--overwrite-tables', '--threads', String(threads), '--verbose', '3'];
}

/** The lines of myloader's last output that report an error: any of them fails the load. */
export const loaderErrors = (tail: string[]): string[] => tail.filter((l) => /CRITICAL|\bError\b/.test(l));

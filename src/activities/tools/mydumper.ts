// mydumper and myloader as dbferry runs them (copies, logical backups, chain deliveries and the
// benches): the same flags everywhere, credentials through the defaults file, a pid file each.
import type { ConnectionConfig } from '../../config/schema.ts';
import { withDefaultsFile } from './defaults-file.ts';
import type { LineHandler } from './tool-output.ts';
import { runTool } from './tool-process.ts';

// mydumper flags shared with the benchmark's raw run so both do the same work.
export const MYDUMPER_FLAGS = ['--triggers', '--events', '--routines', '--rows', '200000', '--verbose', '3'];
export const MYLOADER_FLAGS = ['--verbose', '3'];
// MariaDB 10.6+ locks a whole empty table for the first bulk insert with unique and FK checks off,
// as myloader loads; its other threads then wait for that lock and, on a busy server, used to give
// up after the default 50 s ("Lock wait timeout exceeded"). They wait for the load instead.
const MYLOADER_SESSION = { myloader: ['init-command=SET SESSION innodb_lock_wait_timeout=86400'] };

/** Where the tool connects and how it is run: `name` labels the defaults file. */
export interface DumpToolRun {
  workDir: string;
  name: string;
  conn: ConnectionConfig;
  database: string;
  threads: number;
  pidFile: string;
  signal: AbortSignal;
}

/** Dumps `database` into `outputDir` with mydumper (consistent snapshot, routines, triggers, events, views). */
export function runMydumper(run: DumpToolRun & { outputDir: string }): Promise<string[]> {
  return withDefaultsFile(run.workDir, run.name, run.conn, (cnf) =>
    runTool({
      command: 'mydumper',
      args: [
        '--defaults-file',
        cnf,
        '--database',
        run.database,
        '--outputdir',
        run.outputDir,
        '--threads',
        String(run.threads),
        ...MYDUMPER_FLAGS,
      ],
      pidFile: run.pidFile,
      signal: run.signal,
    }),
  );
}

/** Loads the dump in `directory` into `database` with myloader; returns its last output lines. */
export function runMyloader(run: DumpToolRun & { directory: string; onLine?: LineHandler }): Promise<string[]> {
  return withDefaultsFile(
    run.workDir,
    run.name,
    run.conn,
    (cnf) =>
      runTool({
        command: 'myloader',
        args: [
          '--defaults-file',
          cnf,
          '--directory',
          run.directory,
          '--database',
          run.database,
          '--threads',
          String(run.threads),
          ...MYLOADER_FLAGS,
        ],
        pidFile: run.pidFile,
        signal: run.signal,
        onLine: run.onLine,
      }),
    MYLOADER_SESSION,
  );
}

// The dump activity: mydumper over the sanitized workspace (and the direct tables), rewritten into a dump of the source's tables.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { countDumpRows } from '../tools/dump-files.ts';
import { killOrphanedTool } from '../tools/tools.ts';
import { checkDumpSpace, tablesDataBytes } from '../tools/free-space.ts';
import { directDumpDir, mydumperArgs, planDumpRuns } from './dump-commands.ts';
import { adoptDirectDump, renameDumpedCopies, showCreateTables } from './dump-rewrite.ts';
import type { PullResources } from './pull-resources.ts';
import { onConnection, runPullTool } from './sessions.ts';
import type { WorkspaceRef } from './workspace-activities.ts';
import { isBookkeepingFile } from './workspace.ts';
import { WorkspaceLayout } from './workspace-layout.ts';

/** dumpPullWorkspace, run on the workspace's server; only a workspace the gate passed is ever dumped. */
export function createDumpActivities(r: PullResources) {
  return {
    /**
     * Dumps the workspace with mydumper, and the direct tables from the source beside it. Copies get
     * the source's own DDL and, for the tables strategy, their original names back; delta tables lose
     * their DDL and load as REPLACE (upsert).
     */
    async dumpPullWorkspace(
      input: WorkspaceRef & { threads: number; deltaTables: string[]; tables?: string[]; source?: string; direct?: string[] },
    ): Promise<{ dumpDir: string; rows: Record<string, number> }> {
      const layout = WorkspaceLayout.of(input);
      const dir = r.pullDir(input.pullId);
      const direct = input.source ? (input.direct ?? []) : [];
      await killOrphanedTool(r.pidFile(input.pullId, 'mydumper'));
      await killOrphanedTool(r.pidFile(input.pullId, 'mydumper-direct'));
      await rm(dir, { recursive: true, force: true });
      // The workspace's copies (sanitized, subsetted) and the direct tables read from the source.
      const pool = r.pool(input.workspaceConnection);
      const copies =
        layout.strategy === 'database' ? null : (input.tables ?? []).filter((t) => !direct.includes(t)).map((t) => layout.tableName(t));
      const bytes =
        (await tablesDataBytes(pool, layout.database, copies)) + (input.source ? await tablesDataBytes(pool, input.source, direct) : 0);
      await checkDumpSpace(r.deps.config.workDir, bytes, `the workspace of pull ${input.pullId}`);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await Promise.all(
        planDumpRuns(layout, dir, input.source ?? null, direct).map((run) =>
          runPullTool(r.deps, input.workspaceConnection, {
            command: 'mydumper',
            pidFile: r.pidFile(input.pullId, run.tool),
            args: mydumperArgs(run, input.threads),
          }),
        ),
      );
      const files = await readdir(dir);
      await Promise.all(files.filter((f) => isBookkeepingFile(layout, f)).map((f) => rm(join(dir, f), { force: true })));
      if (direct.length && layout.strategy === 'database')
        await adoptDirectDump(directDumpDir(dir), dir, input.source!, layout.database, direct);
      // The copies' DDL is the workspace's (another engine, no foreign keys): the destination gets the source's.
      const source = input.source ?? layout.database;
      const copied = (input.tables ?? []).filter((t) => !direct.includes(t));
      const ddl = await onConnection(r.pool(input.workspaceConnection), (conn) => showCreateTables(conn, source, copied));
      await renameDumpedCopies(dir, layout, ddl, new Set(input.deltaTables), new Set(direct));
      const counts = await countDumpRows(dir, layout.database);
      for (const table of input.deltaTables) {
        if (!counts.has(table)) counts.set(table, 0);
      }
      return { dumpDir: dir, rows: Object.fromEntries(counts) };
    },
  };
}

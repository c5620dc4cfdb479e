// The activities after the dump: load it into the destination with myloader, count what arrived, record the watermarks.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { findDestinationProblem, findSameServerProblem } from '../../shared/copy-rules.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import { charsetName } from '../mysql/databases.ts';
import { killOrphanedTool } from '../tools/tools.ts';
import { loaderErrors, myloaderArgs } from './dump-commands.ts';
import { refuse, type PullResources } from './pull-resources.ts';
import { runPullTool } from './sessions.ts';
import { countRows } from './workspace.ts';

/** loadPullIntoDestination, countDestinationRows and recordPullWatermarks: the destination's side of a pull. */
export function createLoadActivities(r: PullResources) {
  return {
    /** Loads the dump with myloader (FK checks off): full tables are dropped and recreated, delta tables upserted. */
    async loadPullIntoDestination(input: {
      pullId: string;
      destination: DatabaseRef;
      workspace: string;
      dumpDir: string;
      threads: number;
      charset: string;
      collation: string;
    }): Promise<void> {
      try {
        await access(join(input.dumpDir, 'metadata'));
      } catch {
        throw refuse(`dump directory ${input.dumpDir} is missing or incomplete`, 'DumpMissing');
      }
      const servers = r.deps.pools.servers;
      const problem =
        findDestinationProblem(r.deps.config, input.destination) ??
        (await findSameServerProblem(r.deps.config, (a, b) => servers.same(a, b), { destination: input.destination }));
      if (problem) throw refuse(`${problem.field}: ${problem.message}`, 'DestinationForbidden');
      await killOrphanedTool(r.pidFile(input.pullId, 'myloader'));
      await r
        .pool(input.destination.connection)
        .query(
          `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(input.destination.database)} CHARACTER SET ${charsetName(input.charset)} COLLATE ${charsetName(input.collation)}`,
        );
      const tail = await runPullTool(
        r.deps,
        input.destination.connection,
        {
          command: 'myloader',
          pidFile: r.pidFile(input.pullId, 'myloader'),
          args: myloaderArgs(input.dumpDir, input.destination.database, input.threads),
        },
        { myloader: ['init-command=SET SESSION innodb_lock_wait_timeout=86400'] },
      );
      const errors = loaderErrors(tail);
      if (errors.length) throw ApplicationFailure.retryable(`myloader reported errors: ${errors.slice(-3).join(' | ')}`, 'LoadFailed');
    },

    /** Rows per table in the destination, after the load. */
    async countDestinationRows({ destination, tables }: { destination: DatabaseRef; tables: string[] }): Promise<Record<string, number>> {
      const conn = await r.pool(destination.connection).getConnection();
      try {
        return await countRows(conn, destination.database, tables);
      } finally {
        conn.release();
      }
    },

    /** Records the pull's start time as the watermark of every table it pulled into the destination. */
    async recordPullWatermarks(input: {
      pullId: string;
      profile: string;
      destination: DatabaseRef;
      watermark: string;
      tables: string[];
    }): Promise<void> {
      await r.watermarks().record(input.destination, input.profile, input.pullId, input.watermark, input.tables);
    },
  };
}

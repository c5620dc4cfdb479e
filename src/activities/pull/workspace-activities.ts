// The workspace's activities: create it, fill it with the subset, sanitize it, gate it, drop it, sweep the orphans.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { killOrphanedTool } from '../tools/tools.ts';
import { fillWorkspace } from './fill-workspace.ts';
import type { ForeignKey } from './fk-graph.ts';
import { listRunningPulls, sweepOrphanWorkspaces, type OrphanWorkspace } from './orphans.ts';
import type { TablePlan } from './plan.ts';
import { refuse, type PullResources } from './pull-resources.ts';
import { findLeaks, sanitizeWorkspace } from './sanitize-workspace.ts';
import { onConnection, withSessions } from './sessions.ts';
import { createWorkspace, dropWorkspace } from './workspace.ts';
import { WorkspaceLayout } from './workspace-layout.ts';

/** Which pull's workspace, where: every workspace activity's input starts with this. */
export interface WorkspaceRef {
  pullId: string;
  workspaceConnection: string;
  workspace: string;
  /** The tables strategy: the source database the workspace's prefixed tables live in. */
  inDatabase?: string | null;
}

/** The activities of the workspace's life-cycle, run on the source's server (or the profile's workspaceConnection). */
export function createWorkspaceActivities(r: PullResources) {
  return {
    /** Creates the temp workspace on the source's server (a database, or prefixed tables): an empty copy of each table but the direct ones. */
    async createTempDatabase(input: WorkspaceRef & { source: string; tables: string[]; inPlace?: string[] }): Promise<void> {
      await onConnection(r.pool(input.workspaceConnection), (conn) =>
        createWorkspace(conn, input.source, WorkspaceLayout.of(input), input.tables, new Set(input.inPlace ?? input.tables), input.pullId),
      );
    },

    /** Copies the subset into the workspace, in FK order, with INSERT … SELECT; returns rows per table. */
    async copyTablesIntoWorkspace(
      input: WorkspaceRef & { source: string; tables: TablePlan[]; foreignKeys: ForeignKey[]; threads: number; profile?: string },
    ): Promise<Record<string, number>> {
      const ctx = Context.current();
      // Rules whose columns no key uses are applied by the copy itself (the same keys as applySanitizationRules).
      const keys =
        input.profile === undefined
          ? null
          : { deterministic: r.secretOf(input.profile, r.profileOf(input.profile)), run: randomBytes(32).toString('hex') };
      return withSessions(r.pool(input.workspaceConnection), (open) =>
        fillWorkspace(open, input.source, WorkspaceLayout.of(input), input.tables, input.foreignKeys, {
          parallel: Math.min(input.threads, 6),
          keys,
          onStep: (done, total) => ctx.heartbeat({ done, total }),
        }),
      );
    },

    /** Runs the UPDATE … CASE statements in the workspace, keyed by the profile's secret or a random key. */
    async applySanitizationRules(input: WorkspaceRef & { profile: string; tables: TablePlan[] }): Promise<void> {
      const ctx = Context.current();
      const secret = r.secretOf(input.profile, r.profileOf(input.profile));
      await onConnection(r.pool(input.workspaceConnection), (conn) =>
        sanitizeWorkspace(
          conn,
          WorkspaceLayout.of(input),
          input.tables,
          { deterministic: secret, run: randomBytes(32).toString('hex') },
          (table, i, total) => ctx.heartbeat({ table, i, total }),
        ),
      );
    },

    /** The gate: proves no original value of a sanitized column is left before anything leaves the workspace. */
    async checkSanitizationGate(input: WorkspaceRef & { source: string; tables: TablePlan[] }): Promise<void> {
      const leaks = await onConnection(r.pool(input.workspaceConnection), (conn) =>
        findLeaks(conn, input.source, WorkspaceLayout.of(input), input.tables),
      );
      if (leaks.length) throw refuse(`sanitization gate failed, nothing was pulled: ${leaks.join('; ')}`, 'SanitizationGateFailed');
    },

    /** Drops the workspace and the dump directory (and any tool still using them). Always safe to repeat. */
    async dropTempDatabase(input: WorkspaceRef): Promise<void> {
      await killOrphanedTool(r.pidFile(input.pullId, 'mydumper'));
      await killOrphanedTool(r.pidFile(input.pullId, 'myloader'));
      await rm(r.pullDir(input.pullId), { recursive: true, force: true });
      const conn = await r.pool(input.workspaceConnection).getConnection();
      try {
        await dropWorkspace(conn, WorkspaceLayout.of(input));
      } finally {
        conn.release();
      }
    },

    /**
     * The orphan sweep: drops workspaces older than maxAgeMinutes on every server pulls use, except
     * those of pulls Temporal says are running (a pull may run for hours: deadlineMinutes). When
     * Temporal cannot be asked, the activity fails and nothing is dropped.
     */
    async dropOrphanPullWorkspaces({ maxAgeMinutes, dryRun }: { maxAgeMinutes: number; dryRun: boolean }): Promise<OrphanWorkspace[]> {
      const running = await listRunningPulls(Context.current().client);
      return sweepOrphanWorkspaces(r.deps.config.pulls, (name) => r.pool(name), maxAgeMinutes, dryRun, running);
    },
  };
}

// The orphan sweep: finds workspaces left behind by dead pulls, by the time in their names, and drops
// them, never one whose pull Temporal says is still running.
import type { Client } from '@temporalio/client';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { PullProfile } from '../../config/pull-profiles.ts';
import { WORKSPACE_PREFIX, workspaceCreatedAt, workspacePullId } from '../../workflows/pull/contracts.ts';
import { likePrefix } from './patterns.ts';
import { dropWorkspace, workspaceOwner } from './workspace.ts';
import { WorkspaceLayout, workspaceOfTable } from './workspace-layout.ts';

/** A workspace found by the sweep: a database, or prefixed tables in `inDatabase`. */
export interface FoundWorkspace {
  name: string;
  ageMinutes: number;
  /** Set for the tables strategy: the database holding its prefixed tables. */
  inDatabase?: string;
}

/** Workspaces on this server older than `maxAgeMinutes`, by the time in their names: databases and prefixed tables. */
export async function findOrphanWorkspaces(
  conn: PoolConnection,
  maxAgeMinutes: number,
  nowSeconds = Date.now() / 1000,
): Promise<FoundWorkspace[]> {
  const [databases] = await conn.query<RowDataPacket[]>(
    'SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?',
    [likePrefix(WORKSPACE_PREFIX)],
  );
  const [tables] = await conn.query<RowDataPacket[]>(
    'SELECT DISTINCT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_NAME LIKE ? AND TABLE_SCHEMA NOT LIKE ?',
    [likePrefix(WORKSPACE_PREFIX), likePrefix(WORKSPACE_PREFIX)],
  );
  const found = new Map<string, { name: string; created: number; inDatabase?: string }>();
  for (const r of databases) {
    const name = String(r.s);
    const created = workspaceCreatedAt(name);
    if (created !== null) found.set(name, { name, created });
  }
  for (const r of tables) {
    const name = workspaceOfTable(String(r.t));
    const created = name === null ? null : workspaceCreatedAt(name);
    if (name !== null && created !== null) found.set(`${String(r.s)}\u0000${name}`, { name, created, inDatabase: String(r.s) });
  }
  return [...found.values()]
    .map((w) => ({
      name: w.name,
      ageMinutes: Math.floor((nowSeconds - w.created) / 60),
      ...(w.inDatabase ? { inDatabase: w.inDatabase } : {}),
    }))
    .filter((w) => w.ageMinutes >= maxAgeMinutes)
    .sort((a, b) => b.ageMinutes - a.ageMinutes);
}

/** The pulls whose workflows are open, as Temporal lists them: what the sweep must leave alone. */
export interface RunningPulls {
  /** Their ids, dashes removed. */
  ids: string[];
  /** Their workspaces as their state names them: `name`, or `db\u0000name` for the tables strategy. */
  workspaces: Set<string>;
}

/** A workspace's key in RunningPulls.workspaces. */
const workspaceKey = (name: string, inDatabase?: string): string => (inDatabase ? `${inDatabase}\u0000${name}` : name);

/** Every open sanitizedPull in the namespace (any task queue: other workers' pulls on the same server count too). */
export async function listRunningPulls(client: Pick<Client, 'workflow'>): Promise<RunningPulls> {
  const running: RunningPulls = { ids: [], workspaces: new Set() };
  for await (const wf of client.workflow.list({ query: "WorkflowType = 'sanitizedPull' AND ExecutionStatus = 'Running'" })) {
    const state = wf.memo?.state as { id?: unknown; workspace?: unknown } | undefined;
    if (typeof state?.id === 'string') running.ids.push(state.id.replace(/-/g, '').toLowerCase());
    // The state names a tables-strategy workspace `db.<name>_*`.
    if (typeof state?.workspace === 'string') {
      const tables = /^(.+)\.(_dbferry_tmp_[a-z0-9_]+)_\*$/.exec(state.workspace);
      running.workspaces.add(tables ? workspaceKey(tables[2]!, tables[1]!) : state.workspace);
    }
  }
  return running;
}

/**
 * True when the workspace belongs to a running pull: its state names it, its owner table holds the
 * pull's id, or its name carries the pull's id (the whole id, or the first 8 or 12 characters of it
 * in older and prefixed-table names: a coincidence keeps an orphan one more hour, never drops a live one).
 */
export function belongsToRunningPull(w: { name: string; inDatabase?: string }, owner: string | null, running: RunningPulls): boolean {
  if (running.workspaces.has(workspaceKey(w.name, w.inDatabase))) return true;
  const ownerId = owner?.replace(/-/g, '').toLowerCase();
  if (ownerId && running.ids.includes(ownerId)) return true;
  const named = workspacePullId(w.name);
  return named !== null && running.ids.some((id) => id.startsWith(named));
}

/** A workspace the sweep found (and dropped unless it was a dry run). */
export interface OrphanWorkspace {
  connection: string;
  workspace: string;
  ageMinutes: number;
  /** The tables strategy: the database its prefixed tables were in. */
  inDatabase?: string;
}

/**
 * Finds (and unless dryRun drops) old workspaces through each distinct workspace connection of the
 * profiles: workspace databases and prefixed tables in any database, whatever the profiles' strategy
 * now; a workspace of a running pull is never among them, however old.
 */
export async function sweepOrphanWorkspaces(
  profiles: Record<string, PullProfile>,
  poolOf: (connection: string) => Pool,
  maxAgeMinutes: number,
  dryRun: boolean,
  running: RunningPulls,
): Promise<OrphanWorkspace[]> {
  const connections = [...new Set(Object.values(profiles).map((p) => p.workspaceConnection ?? p.source.connection))].sort();
  const found: OrphanWorkspace[] = [];
  const seen = new Set<string>();
  for (const connection of connections) {
    const conn = await poolOf(connection).getConnection();
    try {
      for (const w of await findOrphanWorkspaces(conn, maxAgeMinutes)) {
        const key = `${w.inDatabase ?? ''}\u0000${w.name}`;
        if (seen.has(key)) continue; // two connections to one server
        seen.add(key);
        const layout = WorkspaceLayout.of({ workspace: w.name, inDatabase: w.inDatabase ?? null });
        if (belongsToRunningPull(w, await workspaceOwner(conn, layout), running)) continue;
        if (!dryRun) await dropWorkspace(conn, layout);
        found.push({ connection, workspace: w.name, ageMinutes: w.ageMinutes, ...(w.inDatabase ? { inDatabase: w.inDatabase } : {}) });
      }
    } finally {
      conn.release();
    }
  }
  return found;
}

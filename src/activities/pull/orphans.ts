// The orphan sweep: finds workspaces left behind by crashed pulls, by the time in their names, and drops them.
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { PullProfile } from '../../config/pull-profiles.ts';
import { WORKSPACE_PREFIX, workspaceCreatedAt } from '../../workflows/pull/contracts.ts';
import { likePrefix } from './patterns.ts';
import { dropWorkspace } from './workspace.ts';
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
 * profiles: workspace databases and prefixed tables in any database, whatever the profiles' strategy now.
 */
export async function sweepOrphanWorkspaces(
  profiles: Record<string, PullProfile>,
  poolOf: (connection: string) => Pool,
  maxAgeMinutes: number,
  dryRun: boolean,
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
        if (!dryRun) await dropWorkspace(conn, WorkspaceLayout.of({ workspace: w.name, inDatabase: w.inDatabase ?? null }));
        found.push({ connection, workspace: w.name, ageMinutes: w.ageMinutes, ...(w.inDatabase ? { inDatabase: w.inDatabase } : {}) });
      }
    } finally {
      conn.release();
    }
  }
  return found;
}

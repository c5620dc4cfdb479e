import type { Pool } from 'mysql2/promise';
import type { PullProfile } from '../../config/pull-profiles.ts';
import { dropWorkspace, findOrphanWorkspaces } from './workspace.ts';
import { WorkspaceLayout } from './workspace-layout.ts';

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

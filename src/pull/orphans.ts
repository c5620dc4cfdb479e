import type { Pool } from 'mysql2/promise';
import type { PullProfile } from './profile-schema.ts';
import { dropWorkspace, findOrphanWorkspaces } from './workspace.ts';

/** Finds (and unless dryRun drops) old workspaces through each distinct workspace connection of the profiles. */
export async function sweepOrphanWorkspaces(
  profiles: Record<string, PullProfile>, poolOf: (connection: string) => Pool, maxAgeMinutes: number, dryRun: boolean,
): Promise<Array<{ connection: string; workspace: string; ageMinutes: number }>> {
  const connections = [...new Set(Object.values(profiles).map((p) => p.workspaceConnection ?? p.source.connection))].sort();
  const found: Array<{ connection: string; workspace: string; ageMinutes: number }> = [];
  const seen = new Set<string>();
  for (const connection of connections) {
    const conn = await poolOf(connection).getConnection();
    try {
      for (const w of await findOrphanWorkspaces(conn, maxAgeMinutes)) {
        if (seen.has(w.name)) continue; // two connections to one server
        seen.add(w.name);
        if (!dryRun) await dropWorkspace(conn, w.name);
        found.push({ connection, workspace: w.name, ageMinutes: w.ageMinutes });
      }
    } finally {
      conn.release();
    }
  }
  return found;
}

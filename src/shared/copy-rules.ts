// Destination guards shared by the API and the activities: writable connection, never a system or control schema, same-server checks.
import type { DbferryConfig } from '../config/schema.ts';
import type { DatabaseRef } from '../workflows/copy/contracts.ts';

export interface RequestProblem {
  field: string;
  message: string;
  kind: 'invalid' | 'forbidden';
}

const serverOf = (config: DbferryConfig, name: string): string => {
  const c = config.connections[name];
  return c ? `${c.socket ?? ''}|${c.host ?? ''}|${c.port ?? 3306}` : `?${name}`;
};

/** True when two refs name the same database on the same server (possibly through two connections). */
export function sameDatabase(config: DbferryConfig, a: DatabaseRef, b: DatabaseRef): boolean {
  return a.database === b.database && (a.connection === b.connection || serverOf(config, a.connection) === serverOf(config, b.connection));
}

/**
 * The checks any write into `destination` must pass (copies and restores): the connection exists,
 * allows writes, and the database is not dbferry's control schema.
 */
export function findDestinationProblem(config: DbferryConfig, destination: DatabaseRef): RequestProblem | null {
  const conn = Object.hasOwn(config.connections, destination.connection) ? config.connections[destination.connection] : undefined;
  if (!conn) return { field: 'destination.connection', message: `no connection named "${destination.connection}"`, kind: 'invalid' };
  if (!conn.allowWrite) {
    return {
      field: 'destination.connection',
      message: `connection "${destination.connection}" does not allow writes (allowWrite is not set in the config)`,
      kind: 'forbidden',
    };
  }
  if (sameDatabase(config, destination, config.control)) {
    return {
      field: 'destination.database',
      message: `"${destination.database}" is dbferry's control schema and is never a valid destination`,
      kind: 'forbidden',
    };
  }
  return null;
}

/**
 * The checks a copy request must pass before anything runs: connections exist, the destination
 * allows writes, it is not dbferry's control schema and not the source itself.
 */
export function findCopyRequestProblem(
  config: DbferryConfig,
  req: { source: DatabaseRef; destination: DatabaseRef },
): RequestProblem | null {
  if (!Object.hasOwn(config.connections, req.source.connection)) {
    return { field: 'source.connection', message: `no connection named "${req.source.connection}"`, kind: 'invalid' };
  }
  const problem = findDestinationProblem(config, req.destination);
  if (problem) return problem;
  if (sameDatabase(config, req.source, req.destination)) {
    return { field: 'destination', message: 'source and destination are the same database', kind: 'invalid' };
  }
  return null;
}

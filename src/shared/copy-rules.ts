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

/** MySQL/MariaDB's own schemas: never the source or destination of a copy, never a restore target. */
export const SYSTEM_SCHEMAS: readonly string[] = ['mysql', 'sys', 'performance_schema', 'information_schema'];

/** True for a system schema, compared case-insensitively (`MySQL`, `Information_Schema`). */
export function isSystemSchema(database: string): boolean {
  return SYSTEM_SCHEMAS.includes(database.toLowerCase());
}

/** True when `ref` names dbferry's control schema (case-insensitively) through any connection to its server. */
function isControlSchema(config: DbferryConfig, ref: DatabaseRef): boolean {
  return (
    ref.database.toLowerCase() === config.control.database.toLowerCase() &&
    (ref.connection === config.control.connection || serverOf(config, ref.connection) === serverOf(config, config.control.connection))
  );
}

/** Why `ref` may never be read or written by a copy (system or control schema), or null. */
function findProtectedSchemaProblem(config: DbferryConfig, ref: DatabaseRef, side: 'source' | 'destination'): RequestProblem | null {
  if (isSystemSchema(ref.database)) {
    return {
      field: `${side}.database`,
      message: `"${ref.database}" is a system schema and is never a valid ${side}`,
      kind: 'forbidden',
    };
  }
  if (isControlSchema(config, ref)) {
    return {
      field: `${side}.database`,
      message: `"${ref.database}" is dbferry's control schema and is never a valid ${side}`,
      kind: 'forbidden',
    };
  }
  return null;
}

/**
 * The checks any read of `source` must pass (backups, pulls, and copies through findCopyRequestProblem):
 * the connection exists, and the database is neither a system schema (`mysql` holds the password
 * hashes) nor dbferry's control schema (everyone's token hashes), in any letter case.
 */
export function findSourceProblem(config: DbferryConfig, source: DatabaseRef): RequestProblem | null {
  if (!Object.hasOwn(config.connections, source.connection)) {
    return { field: 'source.connection', message: `no connection named "${source.connection}"`, kind: 'invalid' };
  }
  return findProtectedSchemaProblem(config, source, 'source');
}

/** True when two refs name the same database on the same server (possibly through two connections). */
export function sameDatabase(config: DbferryConfig, a: DatabaseRef, b: DatabaseRef): boolean {
  return a.database === b.database && (a.connection === b.connection || serverOf(config, a.connection) === serverOf(config, b.connection));
}

/**
 * The checks any write into `destination` must pass (copies and restores): the connection exists,
 * allows writes, and the database is neither a system schema (`mysql`, `sys`, `performance_schema`,
 * `information_schema`, in any case) nor dbferry's control schema.
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
  return findProtectedSchemaProblem(config, destination, 'destination');
}

/**
 * The checks a copy request must pass before anything runs: connections exist, the destination
 * allows writes, neither side is a system schema or dbferry's control schema, and the destination is
 * not the source itself.
 */
export function findCopyRequestProblem(
  config: DbferryConfig,
  req: { source: DatabaseRef; destination: DatabaseRef },
): RequestProblem | null {
  if (!Object.hasOwn(config.connections, req.source.connection)) {
    return { field: 'source.connection', message: `no connection named "${req.source.connection}"`, kind: 'invalid' };
  }
  const problem = findProtectedSchemaProblem(config, req.source, 'source') ?? findDestinationProblem(config, req.destination);
  if (problem) return problem;
  if (sameDatabase(config, req.source, req.destination)) {
    return { field: 'destination', message: 'source and destination are the same database', kind: 'invalid' };
  }
  return null;
}

/** Whether two connections reach one server, as the servers say (ServerIdentities.same): the API and the worker each pass theirs. */
export type SameServer = (a: string, b: string) => Promise<boolean>;

/**
 * The checks the config alone cannot make, because two connections of different host strings
 * (`localhost` and `127.0.0.1`, a DNS alias, a socket) may reach one server: a source or destination
 * that is the control schema through another connection to its server, and a destination that is
 * the source itself. Run after the config's checks (findCopyRequestProblem, findDestinationProblem).
 */
export async function findSameServerProblem(
  config: DbferryConfig,
  sameServer: SameServer,
  req: { source?: DatabaseRef; destination: DatabaseRef },
): Promise<RequestProblem | null> {
  const control = config.control;
  const sides = [
    ['source', req.source],
    ['destination', req.destination],
  ] as const;
  for (const [side, ref] of sides) {
    if (!ref || ref.database.toLowerCase() !== control.database.toLowerCase()) continue;
    if (await sameServer(ref.connection, control.connection)) {
      return {
        field: `${side}.database`,
        message: `"${ref.database}" is dbferry's control schema (connection "${ref.connection}" reaches the control schema's server) and is never a valid ${side}`,
        kind: 'forbidden',
      };
    }
  }
  const { source, destination } = req;
  if (source && source.database === destination.database && (await sameServer(source.connection, destination.connection))) {
    return {
      field: 'destination',
      message: 'source and destination are the same database (both connections reach one server)',
      kind: 'invalid',
    };
  }
  return null;
}

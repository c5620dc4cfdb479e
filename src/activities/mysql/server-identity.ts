// Which server a connection reaches, as the server itself says: `localhost`, `127.0.0.1`, a DNS alias
// and a socket are told apart by nothing in the config, but they reach one server and it has one
// identity. Read once per connection (the API and the worker each keep their own cache) and used
// for "the same server" checks and the destination lock. Shared by the API and the worker.
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface ServerIdentity {
  /**
   * A key naming the server whatever the connection: `@@server_uuid` on MySQL; on MariaDB, which
   * has none, `@@hostname:@@port:@@server_id` (the same through a socket and through TCP).
   */
  key: string;
  /** `@@lower_case_table_names` is not 0: the server compares database names case-insensitively. */
  caseInsensitiveNames: boolean;
}

/** The database name as the server tells databases apart (lower-cased under lower_case_table_names). */
export const databaseKey = (server: ServerIdentity, database: string): string =>
  server.caseInsensitiveNames ? database.toLowerCase() : database;

/** Reads a server's identity over any session or pool of it. */
export async function readServerIdentity(db: Pick<Pool, 'query'>): Promise<ServerIdentity> {
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT @@hostname AS hostname, @@port AS port, @@server_id AS serverId, @@lower_case_table_names AS lowerCaseNames',
  );
  const row = rows[0]!;
  let uuid: string | null = null;
  try {
    const [uuidRows] = await db.query<RowDataPacket[]>('SELECT @@server_uuid AS uuid');
    uuid = uuidRows[0]?.uuid ? String(uuidRows[0].uuid) : null;
  } catch (error) {
    if ((error as { errno?: number }).errno !== 1193) throw error; // MariaDB: unknown system variable
  }
  return {
    key: uuid ? `uuid:${uuid}` : `${String(row.hostname)}:${String(row.port)}:${String(row.serverId)}`,
    caseInsensitiveNames: Number(row.lowerCaseNames) !== 0,
  };
}

/** A connection's server could not be asked who it is: nothing that depends on it may start. */
export class ServerUnreachableError extends Error {
  override name = 'ServerUnreachableError';
  constructor(
    readonly connection: string,
    cause: unknown,
  ) {
    // The driver's code only (ECONNREFUSED, ER_ACCESS_DENIED_ERROR): never its whole message.
    const code = (cause as { code?: string }).code ?? 'error';
    super(`could not reach the server of connection "${connection}" to identify it (${code})`, { cause });
  }
}

/** Every connection's server identity, read on first use and kept (a failed read is tried again next time). */
export class ServerIdentities {
  readonly #cache = new Map<string, Promise<ServerIdentity>>();
  constructor(private readonly pools: { get(name: string): Pool }) {}

  of(connection: string): Promise<ServerIdentity> {
    let identity = this.#cache.get(connection);
    if (!identity) {
      identity = readServerIdentity(this.pools.get(connection)).catch((error: unknown) => {
        this.#cache.delete(connection);
        throw new ServerUnreachableError(connection, error);
      });
      this.#cache.set(connection, identity);
    }
    return identity;
  }

  /** True when both connections reach one server (trivially so for one connection name). */
  async same(a: string, b: string): Promise<boolean> {
    if (a === b) return true;
    const [x, y] = await Promise.all([this.of(a), this.of(b)]);
    return x.key === y.key;
  }
}

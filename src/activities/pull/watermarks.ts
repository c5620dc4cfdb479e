// The delta watermarks: when each table was last pulled into a destination, kept in the control schema.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../../shared/names.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';

/** Delta-sync watermarks in the control schema: per destination and table, the last successful pull's start. */
export class WatermarkStore {
  readonly #table: string;
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#table = `${quoteIdentifier(database)}.pull_watermarks`;
  }

  /** Watermark per table for a destination (tables never pulled there are absent). */
  async read(destination: DatabaseRef): Promise<Record<string, string>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT table_name AS t, watermark AS w FROM ${this.#table} WHERE dest_connection = ? AND dest_database = ?`,
      [destination.connection, destination.database],
    );
    return Object.fromEntries(rows.map((r) => [String(r.t), String(r.w)]));
  }

  /** Records a successful pull of `tables`, replacing their previous watermarks. */
  async record(destination: DatabaseRef, profile: string, pullId: string, watermark: string, tables: string[]): Promise<void> {
    if (!tables.length) return;
    await this.pool.query(
      `REPLACE INTO ${this.#table} (dest_connection, dest_database, table_name, profile, watermark, pull_id, updated_at) VALUES ?`,
      [tables.map((t) => [destination.connection, destination.database, t, profile, watermark, pullId, new Date()])],
    );
  }
}

// The control schema's runs table: which user started which run, under which idempotency key.
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { quoteIdentifier } from '../shared/names.ts';

export interface RunRecord {
  id: string;
  kind: string;
  workflowId: string;
  runId: string | null;
  createdByUserId: number;
  idempotencyKey: string | null;
  callbackUrl: string | null;
  request: unknown;
  createdAt: string;
}

interface RunRow extends RowDataPacket {
  id: string;
  kind: string;
  workflow_id: string;
  run_id: string | null;
  created_by_user_id: number;
  idempotency_key: string | null;
  callback_url: string | null;
  request: unknown;
  created_at: string;
}

const toRecord = (r: RunRow): RunRecord => ({
  id: r.id,
  kind: r.kind,
  workflowId: r.workflow_id,
  runId: r.run_id,
  createdByUserId: Number(r.created_by_user_id),
  idempotencyKey: r.idempotency_key,
  callbackUrl: r.callback_url,
  request: typeof r.request === 'string' ? JSON.parse(r.request) : r.request,
  createdAt: new Date(`${r.created_at.replace(' ', 'T')}Z`).toISOString(),
});

/** Who started which run: maps a public run id to its Temporal execution and owner. */
export class RunStore {
  readonly #table: string;
  constructor(
    private readonly pool: Pool,
    database: string,
  ) {
    this.#table = `${quoteIdentifier(database)}.runs`;
  }

  /**
   * Records a new run, or returns the existing one when this user already used the idempotency key
   * for this kind (`created: false`). `db` is the connection to do it on (the run caps' lock holder).
   */
  async claim(run: Omit<RunRecord, 'runId' | 'createdAt'>, db: Connection = this.pool): Promise<{ record: RunRecord; created: boolean }> {
    try {
      await db.query(
        `INSERT INTO ${this.#table} (id, kind, workflow_id, created_by_user_id, idempotency_key, callback_url, request, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))`,
        [run.id, run.kind, run.workflowId, run.createdByUserId, run.idempotencyKey, run.callbackUrl, JSON.stringify(run.request)],
      );
    } catch (error) {
      if ((error as { code?: string }).code !== 'ER_DUP_ENTRY' || !run.idempotencyKey) throw error;
      const [rows] = await db.query<RunRow[]>(
        `SELECT * FROM ${this.#table} WHERE created_by_user_id = ? AND kind = ? AND idempotency_key = ?`,
        [run.createdByUserId, run.kind, run.idempotencyKey],
      );
      if (rows[0]) return { record: toRecord(rows[0]), created: false };
      throw error;
    }
    const [rows] = await db.query<RunRow[]>(`SELECT * FROM ${this.#table} WHERE id = ?`, [run.id]);
    const record = rows[0] ? toRecord(rows[0]) : null;
    if (!record) throw new Error(`run ${run.id} vanished right after insert`);
    return { record, created: true };
  }

  async attachRunId(id: string, runId: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.#table} SET run_id = ? WHERE id = ?`, [runId, id]);
  }

  async remove(id: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.#table} WHERE id = ?`, [id]);
  }

  async get(id: string): Promise<RunRecord | null> {
    const [rows] = await this.pool.query<RunRow[]>(`SELECT * FROM ${this.#table} WHERE id = ?`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** A run visible to this user: anyone else's run is reported as absent. */
  async getOwned(id: string, userId: number, kind: string): Promise<RunRecord | null> {
    const run = await this.get(id);
    return run && run.createdByUserId === userId && run.kind === kind ? run : null;
  }

  /** Which of `ids` are this user's runs of `kind` (one query per thousand ids). */
  async ownedIds(userId: number, kind: string, ids: readonly string[]): Promise<Set<string>> {
    const owned = new Set<string>();
    for (let i = 0; i < ids.length; i += 1000) {
      const [rows] = await this.pool.query<RunRow[]>(
        `SELECT id FROM ${this.#table} WHERE created_by_user_id = ? AND kind = ? AND id IN (?)`,
        [userId, kind, ids.slice(i, i + 1000)],
      );
      for (const row of rows) owned.add(row.id);
    }
    return owned;
  }

  async listOwned(userId: number, kind: string, limit: number, before?: string): Promise<RunRecord[]> {
    const [rows] = await this.pool.query<RunRow[]>(
      `SELECT * FROM ${this.#table} WHERE created_by_user_id = ? AND kind = ? AND run_id IS NOT NULL
         ${before ? 'AND created_at < (SELECT created_at FROM ' + this.#table + ' WHERE id = ?)' : ''}
       ORDER BY created_at DESC, id DESC LIMIT ?`,
      before ? [userId, kind, before, limit] : [userId, kind, limit],
    );
    return rows.map(toRecord);
  }
}

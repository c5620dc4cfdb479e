// Bulk test data generated inside the server (Sequence engine), for tests that cancel or kill a run mid-phase.
import { rootConnection } from './mysql.ts';

/**
 * A database big enough that dump and load take seconds, so tests can cancel or kill mid-phase.
 * Generated inside the server with the Sequence engine: fast and deterministic.
 */
export async function createBulkDatabase(db: string, rows: number): Promise<void> {
  const conn = await rootConnection();
  try {
    await conn.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
    await conn.query(`USE \`${db}\``);
    await conn.query('CREATE TABLE parents (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL) ENGINE=InnoDB');
    await conn.query(`CREATE TABLE children (
      id INT PRIMARY KEY, parent_id INT NOT NULL, payload VARCHAR(255) NOT NULL, note TEXT,
      CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id)) ENGINE=InnoDB`);
    const parents = Math.max(1, Math.floor(rows / 10));
    await conn.query(`INSERT INTO parents SELECT seq, CONCAT('parent-', seq) FROM seq_1_to_${parents}`);
    for (let start = 1; start <= rows; start += 100_000) {
      const end = Math.min(rows, start + 99_999);
      await conn.query(
        `INSERT INTO children SELECT seq, 1 + (seq MOD ${parents}), REPEAT(MD5(seq), 6), CONCAT('note ', seq, ' 🚢') FROM seq_${start}_to_${end}`,
      );
    }
  } finally {
    await conn.end();
  }
}

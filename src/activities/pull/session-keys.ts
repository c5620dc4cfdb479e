// How a pull's keys reach a session without ever being in a statement's text. A parameter is no
// help: mysql2's `query` interpolates it, and a prepared statement's Execute is written to the
// general log with its values in place (measured on MariaDB 10.11). So the server draws a one-time
// wrapping key (RANDOM_BYTES) that only this session and one result set ever hold; the worker
// encrypts the keys under it (AES-128-ECB, AES_ENCRYPT's format) and the session decrypts them into
// its variables. The processlist, the general and slow logs see only ciphertext that no one else
// can open, and the wrapping key is cleared as soon as it has been used.
import { createCipheriv } from 'node:crypto';
import type { Connection, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { DETERMINISTIC_KEY_VAR, RUN_KEY_VAR } from './sanitize-sql.ts';

export interface PullKeys {
  /** The profile's secret for deterministic rules, or null when it has none. */
  deterministic: string | null;
  /** A random key drawn for this run. */
  run: string;
}

const WRAP_VAR = '@dbferry_key_wrap';

/** AES_ENCRYPT(value, key) as MySQL and MariaDB compute it with a 16-byte key in aes-128-ecb: PKCS#7 padding, no IV. */
export function aesEncryptLikeServer(value: string, key: Buffer): Buffer {
  if (key.length !== 16) throw new Error('the wrapping key must be 16 bytes');
  const cipher = createCipheriv('aes-128-ecb', key, null);
  return Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
}

/** Errors that mean "this server has no such thing", after which a fallback is tried. */
const isUnknown = (error: unknown): boolean => {
  const errno = (error as { errno?: number }).errno;
  return errno === 1193 /* unknown system variable */ || errno === 1305; /* no such function */
};

/** The SQL that draws the wrapping key: RANDOM_BYTES where the server has it (MySQL 5.6.17+, MariaDB 10.10+). */
async function drawWrappingKey(conn: Connection | PoolConnection): Promise<Buffer> {
  try {
    await conn.query(`SET ${WRAP_VAR} = RANDOM_BYTES(16)`);
  } catch (error) {
    if (!isUnknown(error)) throw error;
    // Older MariaDB: no RANDOM_BYTES. Still drawn on the server and never written anywhere.
    await conn.query(`SET ${WRAP_VAR} = UNHEX(LEFT(SHA2(CONCAT(UUID(), RAND(), RAND(), SYSDATE(6), CONNECTION_ID()), 256), 32))`);
  }
  const [rows] = await conn.query<RowDataPacket[]>(`SELECT HEX(${WRAP_VAR}) AS w`);
  return Buffer.from(String(rows[0]!.w), 'hex');
}

/**
 * Sets the session's key variables (see sanitize-sql.ts) to `keys`, with neither key in any
 * statement's text. The variables hold the same strings as a plain `SET @k = 'secret'` would (in
 * the connection's character set), so deterministic fakes are the same as before.
 */
export async function setSessionKeys(conn: Connection | PoolConnection, keys: PullKeys): Promise<void> {
  // AES_DECRYPT follows block_encryption_mode where the server has one (MySQL); MariaDB 10.11 has none and uses ECB.
  await conn.query("SET SESSION block_encryption_mode = 'aes-128-ecb'").catch((error: unknown) => {
    if (!isUnknown(error)) throw error;
  });
  const wrap = await drawWrappingKey(conn);
  try {
    const unwrap = (value: string | null): string =>
      value === null ? 'NULL' : `CAST(AES_DECRYPT(UNHEX('${aesEncryptLikeServer(value, wrap).toString('hex')}'), ${WRAP_VAR}) AS CHAR)`;
    await conn.query(`SET ${DETERMINISTIC_KEY_VAR} = ${unwrap(keys.deterministic)}, ${RUN_KEY_VAR} = ${unwrap(keys.run)}`);
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT ${DETERMINISTIC_KEY_VAR} IS NULL AS noDeterministic, ${RUN_KEY_VAR} IS NULL AS noRun, CHAR_LENGTH(${RUN_KEY_VAR}) AS runLength`,
    );
    const check = rows[0]!;
    if (
      Number(check.noRun) ||
      Number(check.runLength) !== keys.run.length ||
      Number(check.noDeterministic) !== (keys.deterministic === null ? 1 : 0)
    )
      throw new Error('the server did not decrypt the pull keys (AES_DECRYPT returned NULL)');
  } finally {
    await conn.query(`SET ${WRAP_VAR} = NULL`);
  }
}

// Proves the test harness itself: the hard schema survives a correct copy, the comparison notices a
// one-row change, and it pins down exactly what raw mydumper 0.10 / myloader get wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import { dropDatabases, rootConnection, uniqueDbName } from './mysql.ts';
import { createHardSchema } from './hard-schema.ts';
import { describeDatabase, expectSameDatabase, type DatabaseSnapshot } from './compare.ts';
import { startWebhookReceiver, verifySignature } from './webhook-receiver.ts';

const run = promisify(execFile);
const SERVER = ['-h', '127.0.0.1', '-P', '3306', '-u', 'root'];

// Runs a query on a fresh root connection and returns the rows.
async function rows(sql: string, params: unknown[] = [], db?: string): Promise<RowDataPacket[]> {
  const conn = await rootConnection(db);
  try {
    return (await conn.query<RowDataPacket[]>(sql, params))[0];
  } finally {
    await conn.end();
  }
}

// myloader -B creates the target with server defaults, so the target must be created with the source's charset first.
async function createDatabaseLike(source: string, target: string): Promise<void> {
  const [s] = await rows(
    'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [source],
  );
  await rows(`CREATE DATABASE \`${target}\` CHARACTER SET ${String(s?.cs)} COLLATE ${String(s?.co)}`);
}

// Re-creates routines (before data: views may call them) or triggers + events (after data) from SHOW CREATE,
// restoring each object's own sql_mode, time_zone and connection collation, which mydumper 0.10 drops.
async function copyProgrammable(source: string, target: string, what: 'routines' | 'triggers+events'): Promise<void> {
  const src = await rootConnection(source);
  const dst = await rootConnection(target);
  const query = async (sql: string, params: unknown[] = []): Promise<RowDataPacket[]> => (await src.query<RowDataPacket[]>(sql, params))[0];
  try {
    const objects: { show: string; key: string }[] =
      what === 'routines'
        ? (
            await query('SELECT ROUTINE_TYPE AS t, ROUTINE_NAME AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?', [source])
          ).map((r) => ({
            show: `SHOW CREATE ${String(r.t)} \`${String(r.n)}\``,
            key: `Create ${r.t === 'FUNCTION' ? 'Function' : 'Procedure'}`,
          }))
        : [
            ...(
              await query(
                `SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
          ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
                [source],
              )
            ).map((r) => ({ show: `SHOW CREATE TRIGGER \`${String(r.n)}\``, key: 'SQL Original Statement' })),
            ...(await query('SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?', [source])).map((r) => ({
              show: `SHOW CREATE EVENT \`${String(r.n)}\``,
              key: 'Create Event',
            })),
          ];
    for (const { show, key } of objects) {
      const [def] = await query(show);
      if (!def || def.character_set_client !== 'utf8mb4') throw new Error(`${show}: only utf8mb4 clients are handled here`);
      await dst.query('SET SESSION sql_mode = ?, SESSION time_zone = ?, collation_connection = ?', [
        def.sql_mode,
        def.time_zone ?? 'SYSTEM',
        def.collation_connection,
      ]);
      await dst.query(String(def[key])); // no params: '?' inside bodies must stay literal
    }
  } finally {
    await Promise.all([src.end(), dst.end()]);
  }
}

// The copy recipe dbferry must follow with mydumper/myloader 0.10 (see the report in the PR / harness README).
async function copyLikeDbferry(source: string, target: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const dumperCnf = join(dir, 'mydumper.cnf');
  await writeFile(dumperCnf, "[mydumper]\ninit-command=SET SESSION sql_mode=''\n");
  await createDatabaseLike(source, target);
  await copyProgrammable(source, target, 'routines');
  await run('mydumper', [`--defaults-file=${dumperCnf}`, ...SERVER, '-B', source, '-o', join(dir, 'dump'), '-t', '2', '--complete-insert']);
  await run('myloader', [...SERVER, '-d', join(dir, 'dump'), '-B', target, '-t', '2']);
  await copyProgrammable(source, target, 'triggers+events');
}

// The reference copy: mysqldump piped into mysql, into a target created with the source's charset.
async function copyWithMysqldump(source: string, target: string): Promise<void> {
  await createDatabaseLike(source, target);
  const conn = SERVER.join(' ');
  await run('bash', [
    '-o',
    'pipefail',
    '-c',
    `mysqldump ${conn} --single-transaction --routines --events --triggers ${source} | mysql ${conn} ${target}`,
  ]);
}

// Paths (dotted) at which two snapshots differ, to assert on the exact shape of a difference.
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k),
    );
  }
  return Object.is(a, b) ? [] : [path];
}

describe('the MySQL test harness', { timeout: 120_000 }, () => {
  const source = uniqueDbName('harness_src');
  const copy = uniqueDbName('harness_copy');
  const rawCopy = uniqueDbName('harness_raw');
  const dumpCopy = uniqueDbName('harness_dump');
  const changed = uniqueDbName('harness_changed');
  let tables: string[] = [];
  let workDir = '';

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'dbferry-harness-'));
    ({ tables } = await createHardSchema(source));
  }, 120_000);

  afterAll(async () => {
    await dropDatabases(source, copy, rawCopy, dumpCopy, changed);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('creates the hard schema with every base table reported and only empty_things left empty', async () => {
    const snap = await describeDatabase(source);
    expect(Object.keys(snap.tables).sort()).toEqual([...tables].sort());
    for (const [name, t] of Object.entries(snap.tables)) {
      expect(t.checksum, name).not.toBeNull();
      if (name === 'empty_things') expect(t.rows).toBe('0');
      else expect(Number(t.rows), name).toBeGreaterThan(0);
    }
    expect(snap.views.map((v) => v.name)).toEqual(['book_labels', 'book_overview', 'prolific_authors']);
    expect(snap.triggers.map((t) => t.name)).toEqual(['books_bi_marker', 'books_bi_slug', 'reviews_ai_audit', 'samples_bu']);
    expect(snap.routines.map((r) => r.name)).toEqual(['book_label', 'add_review']);
    expect(snap.events.map((e) => e.name)).toEqual(['purge_audit']);
  });

  it('finds a mydumper/myloader copy made the way dbferry must make it identical to the source', async () => {
    await copyLikeDbferry(source, copy, join(workDir, 'dbferry'));
    await expectSameDatabase(source, copy);
  });

  it('finds a mysqldump | mysql copy identical to the source', async () => {
    await copyWithMysqldump(source, dumpCopy);
    await expectSameDatabase(source, dumpCopy);
  });

  it('pins down what raw mydumper -G -E -R and myloader -B get wrong, and that table data is not among it', async () => {
    const dir = join(workDir, 'raw');
    await run('mydumper', [...SERVER, '-B', source, '-o', dir, '-G', '-E', '-R', '-t', '2']);
    await run('myloader', [...SERVER, '-d', dir, '-B', rawCopy, '-t', '2']);
    const [a, b] = await Promise.all([describeDatabase(source), describeDatabase(rawCopy)]);
    const [server] = await rows('SELECT @@GLOBAL.sql_mode AS sqlMode, @@GLOBAL.collation_server AS collation');
    const expected: string[] = [];
    const programmable = { routines: a.routines, triggers: a.triggers, events: a.events };
    // The target database gets the server's default collation, not the source's (so do the objects in it).
    if (a.database.collation !== server?.collation) {
      expected.push('database.collation');
      for (const [kind, list] of Object.entries(programmable)) list.forEach((_, i) => expected.push(`${kind}.${i}.databaseCollation`));
    }
    // Triggers, routines and events get myloader's main-connection sql_mode (the server default), not their own.
    for (const [kind, list] of Object.entries(programmable)) {
      list.forEach((o, i) => {
        if (o.sqlMode !== server?.sqlMode) expected.push(`${kind}.${i}.sqlMode`);
      });
    }
    for (const o of [...b.triggers, ...b.routines, ...b.events]) expect(o.sqlMode, String(o.name)).toBe(server?.sqlMode);
    // Every ";" + newline in a routine body, even inside a string literal, comes back as "; " + newline.
    // (information_schema shows a newline inside a string literal as the two characters \n.)
    a.routines.forEach((r, i) => {
      const mangled = String(r.body).replace(/;(\n|\\n)/g, '; $1');
      if (mangled !== r.body) expected.push(`routines.${i}.body`);
      expect(b.routines[i]?.body).toBe(mangled);
    });
    // Nothing else differs: tables (checksums, counts, columns, keys) and views come through intact.
    expect(differences(a, b).sort()).toEqual(expected.sort());
    const [label] = await rows(`SELECT \`${source}\`.book_label(1) = \`${rawCopy}\`.book_label(1) AS same`);
    expect(Number(label?.same)).toBe(0); // the function now returns a different string
  });

  it('rejects a copy in which one row was updated, and points at that table checksum', async () => {
    await copyWithMysqldump(source, changed);
    await rows("UPDATE books SET title = CONCAT(title, '.') WHERE id = 7", [], changed);
    await expect(expectSameDatabase(source, changed)).rejects.toThrow(/differs from/);
    const diff = differences(await describeDatabase(source), await describeDatabase(changed));
    expect(diff).toEqual(['tables.books.checksum']);
  });

  it('shows why the hard schema avoids long FLOATs and 4-byte ENUM members: no SQL-text dump can copy them', async () => {
    const lossySource = uniqueDbName('harness_lossy');
    const lossyCopy = uniqueDbName('harness_lossy_copy');
    try {
      await rows(`CREATE DATABASE ${lossySource} CHARACTER SET utf8mb4; CREATE TABLE ${lossySource}.t (id INT PRIMARY KEY,
        f FLOAT, m ENUM('a', '😀') CHARACTER SET utf8mb4); INSERT INTO ${lossySource}.t VALUES (1, 16777216, '😀'), (2, 1/3, 'a')`);
      await copyWithMysqldump(lossySource, lossyCopy);
      const got = await rows(`SELECT s.f + 0e0 AS sf, c.f + 0e0 AS cf, s.m + 0 AS sm, c.m + 0 AS cm
        FROM ${lossySource}.t s JOIN ${lossyCopy}.t c USING (id) ORDER BY id`);
      // MariaDB prints FLOAT with 6 significant digits, and SHOW CREATE TABLE renders the emoji member as '?'.
      expect(got.map((r) => [r.sf, r.cf, r.sm, r.cm])).toEqual([
        [16777216, 16777200, 2, 0],
        [0.3333333432674408, 0.33333298563957214, 1, 1],
      ]);
    } finally {
      await dropDatabases(lossySource, lossyCopy);
    }
  });

  it('snapshots keep database names out of view definitions', async () => {
    const snap: DatabaseSnapshot = await describeDatabase(source);
    for (const v of snap.views) expect(String(v.definition)).not.toContain(source);
  });
});

describe('the webhook receiver', () => {
  it('records POSTs, fails the next n on request, and verifies HMAC-SHA256 signatures only with the right secret', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const body = JSON.stringify({ event: 'copy.completed', name: '🦀 ñ' });
      const signature = createHmac('sha256', 's3cret').update(body).digest('hex');
      receiver.failNext(1);
      const post = (): Promise<Response> =>
        fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': signature }, body });
      expect((await post()).status).toBe(500);
      expect((await post()).status).toBe(200);
      const delivery = await receiver.waitFor((d) => d.status === 200, 2_000);
      expect(receiver.deliveries).toHaveLength(2);
      expect(delivery.rawBody).toBe(body);
      expect(delivery.json).toEqual({ event: 'copy.completed', name: '🦀 ñ' });
      expect(delivery.receivedAt).toBeInstanceOf(Date);
      const header = String(delivery.headers['x-signature']);
      expect(verifySignature(delivery.rawBody, header, 's3cret')).toBe(true);
      expect(verifySignature(delivery.rawBody, header, 'wrong')).toBe(false);
      expect(verifySignature(delivery.rawBody, header.slice(2), 's3cret')).toBe(false);
      expect(verifySignature(`${delivery.rawBody} `, header, 's3cret')).toBe(false);
      await expect(receiver.waitFor(() => false, 50)).rejects.toThrow(/no matching webhook delivery/);
    } finally {
      await receiver.close();
    }
  });
});

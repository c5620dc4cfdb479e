// Preparing a pull against the local MariaDB: what is refused before anything runs, the plan, and the dry run's counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/activity';
import type { Connection } from 'mysql2/promise';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { MysqlPools } from '../../../src/activities/mysql/pools.ts';
import { countDryRunRows, preparePullPlan } from '../../../src/activities/pull/prepare-pull.ts';
import { createPullResources } from '../../../src/activities/pull/pull-resources.ts';

const source = uniqueDbName('prep_src');
const destination = uniqueDbName('prep_dst');
const profile = (overrides: Record<string, unknown> = {}) => ({
  source: { connection: 'prod', database: source },
  destination: { connection: 'dev', database: destination },
  sanitize: { customers: { email: { type: 'email' } }, subscribers: { email: { type: 'email' } } },
  limits: { orders: { maxRows: 2, orderBy: 'id' } },
  excludeTables: ['audit_log'],
  ...overrides,
});
const config = parseConfig(
  JSON.stringify({
    connections: { prod: { host: '127.0.0.1', user: 'root' }, dev: { host: '127.0.0.1', user: 'root', allowWrite: true } },
    control: { connection: 'dev' },
    pulls: {
      shop: profile(),
      readOnlyDestination: profile({ destination: { connection: 'prod', database: destination } }),
      intoItself: profile({ destination: { connection: 'dev', database: source } }),
      missingSource: profile({ source: { connection: 'prod', database: `${source}_gone` }, sanitize: {}, limits: {}, excludeTables: [] }),
    },
  }),
);
const pools = new MysqlPools(config);
const r = createPullResources({ config, pools });
const request = (name: string) => ({ pullId: 'p1', profile: name, full: true, tables: null });
let conn: Connection;

/** The permanent failure preparing `name` ends in. */
async function refusal(name: string): Promise<ApplicationFailure> {
  const error: unknown = await preparePullPlan(r, request(name)).catch((e: unknown) => e);
  if (!(error instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  conn = await rootConnection();
  await conn.query(`CREATE DATABASE \`${source}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await conn.query(`USE \`${source}\``);
  await conn.query('CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(191))');
  await conn.query(
    'CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers (id))',
  );
  // The sanitized column is the primary key: its rule cannot run inside the copy.
  await conn.query('CREATE TABLE subscribers (email VARCHAR(191) PRIMARY KEY)');
  await conn.query('CREATE TABLE audit_log (id INT PRIMARY KEY)');
  await conn.query("INSERT INTO customers VALUES (1, 'a@x.test'), (2, 'b@x.test'), (3, NULL)");
  await conn.query('INSERT INTO orders VALUES (1, 1), (2, 1), (3, 2), (4, 3)');
  await conn.query("INSERT INTO subscribers VALUES ('s@x.test')");
}, 60_000);

afterAll(async () => {
  await conn?.end();
  await pools.close();
  await dropDatabases(source);
});

describe('preparing a pull', () => {
  it('plans every table but the excluded ones, parents first, on the source server’s clock and character set', async () => {
    const prepared = await preparePullPlan(r, request('shop'));
    expect(prepared.plan.tables.map((t) => t.table).indexOf('customers')).toBeLessThan(
      prepared.plan.tables.map((t) => t.table).indexOf('orders'),
    );
    expect(prepared.plan.tables.map((t) => t.table).sort()).toEqual(['customers', 'orders', 'subscribers']);
    expect(prepared.plan.excluded).toEqual(['audit_log']);
    expect(prepared.foreignKeys).toMatchObject([{ table: 'orders', refTable: 'customers', columns: ['customer_id'] }]);
    expect(prepared).toMatchObject({
      source: { connection: 'prod', database: source },
      destination: { connection: 'dev', database: destination },
      workspaceConnection: 'prod',
      workspaceStrategy: 'database',
      charset: 'utf8mb4',
      collation: 'utf8mb4_unicode_ci',
    });
    expect(prepared.watermark).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it('sanitizes inside the copy unless the sanitized column is a key', async () => {
    const { plan } = await preparePullPlan(r, request('shop'));
    const inPlace = Object.fromEntries(plan.tables.map((t) => [t.table, t.sanitizeInPlace]));
    expect(inPlace).toEqual({ customers: false, orders: false, subscribers: true });
  });

  it('refuses, permanently, an unknown profile, a destination without writes, the source itself and a missing source', async () => {
    expect(await refusal('nope')).toMatchObject({ type: 'InvalidRequest', nonRetryable: true });
    expect(await refusal('readOnlyDestination')).toMatchObject({ type: 'DestinationForbidden', nonRetryable: true });
    expect(await refusal('intoItself')).toMatchObject({ type: 'InvalidRequest', nonRetryable: true });
    expect((await refusal('intoItself')).message).toBe('pulls.intoItself.destination: is the source database itself');
    expect(await refusal('missingSource')).toMatchObject({ type: 'DatabaseNotFound', nonRetryable: true });
  });

  it('counts what a dry run would bring: limits applied, excluded tables listed with no rows', async () => {
    const prepared = await preparePullPlan(r, request('shop'));
    const rows = await countDryRunRows(r.pool('prod'), prepared);
    expect(Object.fromEntries(rows.map((row) => [row.table, row]))).toMatchObject({
      customers: { rows: 3, mode: 'full', sanitized: true, limited: false, excluded: false },
      orders: { rows: 2, mode: 'full', sanitized: false, limited: true, excluded: false },
      subscribers: { rows: 1, sanitized: true },
      audit_log: { rows: 0, mode: 'excluded', excluded: true },
    });
  });
});

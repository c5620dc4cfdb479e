// The pull planner without a server: the plan against a catalogue, the PII guard, workspace names, unique columns.
import { describe, expect, it } from 'vitest';
import type { ForeignKey } from '../../../src/activities/pull/fk-graph.ts';
import { planPull, PullPlanError } from '../../../src/activities/pull/plan.ts';
import { looksPersonal, findUnruledPii } from '../../../src/activities/pull/pii-guard.ts';
import { pullProfileSchema } from '../../../src/config/pull-profiles.ts';
import type { Catalog } from '../../../src/activities/pull/pull-catalog.ts';
import { workspaceCreatedAt, workspaceName } from '../../../src/workflows/pull/contracts.ts';

const fk = (table: string, column: string, refTable: string): ForeignKey => ({
  name: `fk_${table}_${column}`,
  table,
  columns: [column],
  refTable,
  refColumns: ['id'],
});

const catalog: Catalog = {
  tables: ['users', 'orders', 'telemetry'],
  columns: [
    { table: 'users', name: 'id', dataType: 'int', maxLength: null, nullable: false, generated: false },
    { table: 'users', name: 'email', dataType: 'varchar', maxLength: 191, nullable: true, generated: false },
    { table: 'users', name: 'full_name', dataType: 'varchar', maxLength: 100, nullable: false, generated: false },
    { table: 'users', name: 'age', dataType: 'int', maxLength: null, nullable: true, generated: false },
    { table: 'users', name: 'email_domain', dataType: 'varchar', maxLength: 100, nullable: true, generated: true },
    { table: 'users', name: 'created_at', dataType: 'datetime', maxLength: null, nullable: true, generated: false },
    { table: 'users', name: 'updated_at', dataType: 'datetime', maxLength: null, nullable: true, generated: false },
    { table: 'orders', name: 'id', dataType: 'int', maxLength: null, nullable: false, generated: false },
    { table: 'orders', name: 'user_id', dataType: 'int', maxLength: null, nullable: false, generated: false },
    { table: 'telemetry', name: 'payload', dataType: 'text', maxLength: 65535, nullable: true, generated: false },
  ],
  primaryKeys: { users: ['id'], orders: ['id'] },
  foreignKeys: [fk('orders', 'user_id', 'users')],
  approxRows: { users: 10, orders: 20, telemetry: 5 },
};
const profile = (over: Record<string, unknown> = {}) =>
  pullProfileSchema.parse({
    source: { connection: 'prod', database: 'app' },
    destination: { connection: 'dev', database: 'app' },
    sanitize: { users: { email: { type: 'email' }, full_name: { type: 'name' } } },
    excludeTables: ['telemetry', 'not_there'],
    ...over,
  });
const request = {
  full: false,
  tables: null,
  watermarks: { users: '2024-05-01 00:00:00', orders: '2024-05-01 00:00:00' },
  destinationTables: new Set(['users', 'orders']),
};

describe('pull planning against the catalogue', () => {
  it('orders tables, skips excluded ones, and pulls deltas only where timestamps and a watermark exist', () => {
    const plan = planPull(profile(), catalog, request);
    expect(plan.tables.map((t) => [t.table, t.mode, t.since])).toEqual([
      ['users', 'delta', '2024-05-01 00:00:00'],
      ['orders', 'full', null],
    ]);
    expect(plan.excluded).toEqual(['telemetry']);
    expect(plan.tables[0]!.columns).not.toContain('email_domain');
    expect(plan.tables[0]!.otherTextColumns).toEqual([]);
    expect(planPull(profile(), catalog, { ...request, full: true }).tables[0]!.mode).toBe('full');
    expect(planPull(profile(), catalog, { ...request, destinationTables: new Set() }).tables[0]!.mode).toBe('full');
  });

  it.each([
    [
      'an unknown table in a rule',
      { sanitize: { ghosts: { email: { type: 'email' } } } },
      'sanitize.ghosts: no table "ghosts" in prod/app',
    ],
    [
      'an unknown column in a rule',
      { sanitize: { users: { email: { type: 'email' }, full_name: { type: 'name' }, nope: { type: 'name' } } } },
      'sanitize.users.nope: no column "nope" in table "users" of the source database',
    ],
    [
      'a text type on a number column',
      { sanitize: { users: { email: { type: 'email' }, full_name: { type: 'name' }, age: { type: 'phone' } } } },
      /sanitize\.users\.age: type "phone" writes text, but the column is int/,
    ],
    [
      'null on a NOT NULL column',
      { sanitize: { users: { email: { type: 'email' }, full_name: { type: 'null' } } } },
      /sanitize\.users\.full_name: type "null" on a NOT NULL column/,
    ],
    [
      'a generated column',
      { sanitize: { users: { email: { type: 'email' }, full_name: { type: 'name' }, email_domain: { type: 'text' } } } },
      /sanitize\.users\.email_domain: is a generated column/,
    ],
    [
      'a limit on an unknown order column',
      { limits: { users: { maxRows: 5, orderBy: 'nope' } } },
      'limits.users.orderBy: no column "nope" in table "users"',
    ],
    [
      'a limit on a table without a primary key',
      { excludeTables: [], limits: { telemetry: { maxRows: 5 } } },
      /limits\.telemetry: table "telemetry" has no primary key/,
    ],
  ])('refuses %s, naming the field', (_label, over, message) => {
    expect(() => planPull(profile(over), catalog, request)).toThrow(PullPlanError);
    expect(() => planPull(profile(over), catalog, request)).toThrow(message);
  });

  it('dumps a whole table with no rules straight from the source, unless it is a delta or references a limited table', () => {
    const direct = (over: Record<string, unknown>, req = request) =>
      Object.fromEntries(planPull(profile(over), catalog, req).tables.map((t) => [t.table, t.direct]));
    expect(direct({})).toEqual({ users: false, orders: true });
    expect(direct({ excludeTables: [] }, { ...request, full: true })).toEqual({ users: false, orders: true, telemetry: true });
    // orders references users: a limit on users makes orders' rows matter to the subset.
    expect(direct({ limits: { users: { maxRows: 3 } } })).toEqual({ users: false, orders: false });
    expect(direct({ limits: { orders: { maxRows: 3 } } })).toEqual({ users: false, orders: false });
    expect(
      direct({
        sanitize: { users: { email: { type: 'email' }, full_name: { type: 'name' } }, orders: { user_id: { type: 'fixed', value: 1 } } },
      }),
    ).toEqual({ users: false, orders: false });
    // A delta table's rows are filtered by the watermark, so it is copied.
    const deltaOrders = {
      ...catalog,
      columns: [
        ...catalog.columns,
        { table: 'orders', name: 'created_at', dataType: 'datetime', maxLength: null, nullable: true, generated: false },
        { table: 'orders', name: 'updated_at', dataType: 'datetime', maxLength: null, nullable: true, generated: false },
      ],
    };
    expect(planPull(profile(), deltaOrders, request).tables.map((t) => [t.table, t.mode, t.direct])).toEqual([
      ['users', 'delta', false],
      ['orders', 'delta', false],
    ]);
  });

  it('refuses requested tables that do not exist or are excluded', () => {
    expect(() => planPull(profile(), catalog, { ...request, tables: ['nope'] })).toThrow('tables: no table "nope" in prod/app');
    expect(() => planPull(profile(), catalog, { ...request, tables: ['telemetry'] })).toThrow(/excludeTables/);
  });

  it('stops at the PII guard unless the profile allows the column', () => {
    const bare = { sanitize: { users: { email: { type: 'email' } } } };
    expect(() => planPull(profile(bare), catalog, request)).toThrow(/personal data have no rule: users\.full_name/);
    expect(() => planPull(profile({ ...bare, piiAllow: ['users.full_name'] }), catalog, request)).not.toThrow();
    expect(() => planPull(profile({ ...bare, piiGuard: false }), catalog, request)).not.toThrow();
  });
});

describe('the PII guard', () => {
  it.each([
    'email',
    'contactEmail',
    'phone_number',
    'password',
    'first_name',
    'lastName',
    'home_address',
    'date_of_birth',
    'ssn',
    'iban',
    'remember_token',
    'last_login_ip',
    'name',
  ])('flags %s', (c) => {
    expect(looksPersonal(c)).toBe(true);
  });
  it.each(['id', 'created_at', 'status', 'total', 'description', 'zipper_count', 'ship_date'])('lets %s through', (c) => {
    expect(looksPersonal(c)).toBe(false);
  });
  it('honours *.column allowances', () => {
    expect(
      findUnruledPii(
        [
          { table: 'a', name: 'name' },
          { table: 'b', name: 'name' },
        ],
        { sanitize: {}, piiAllow: ['*.name'] },
      ),
    ).toEqual([]);
  });
});

describe('workspace names', () => {
  it('carry their creation time and nothing else', () => {
    const name = workspaceName(1_732_300_000, '9F2C-41ab-zz');
    expect(name).toBe('_dbferry_tmp_1732300000_9f2c41abzz');
    expect(workspaceCreatedAt(name)).toBe(1_732_300_000);
    expect(workspaceCreatedAt('_dbferry_tmp_1732300000_x; DROP')).toBeNull();
    expect(workspaceCreatedAt('production')).toBeNull();
  });
});

describe('pull planning for unique columns', () => {
  const col = (name: string, over: Partial<Catalog['columns'][number]> = {}): Catalog['columns'][number] => ({
    table: 'members',
    name,
    dataType: 'varchar',
    maxLength: 100,
    nullable: true,
    generated: false,
    unique: true,
    uniquePrefix: null,
    ...over,
  });
  const uniqueCatalog: Catalog = {
    tables: ['members'],
    columns: [
      col('id', { dataType: 'int', maxLength: null, nullable: false }),
      col('full_name'),
      col('bio', { unique: false, maxLength: 10 }),
      col('handle', { maxLength: 30 }),
      col('phone', { maxLength: 20 }),
      col('code', { uniquePrefix: 10 }),
      col('nickname'),
      col('password', { maxLength: 255 }),
      col('token', { nullable: false }),
      col('label', { dataType: 'text', maxLength: 65535 }),
    ],
    primaryKeys: { members: ['id'] },
    foreignKeys: [],
    approxRows: { members: 1 },
  };
  const plan = (sanitize: Record<string, unknown>) =>
    planPull(profile({ sanitize: { members: sanitize }, excludeTables: [], piiGuard: false }), uniqueCatalog, {
      ...request,
      tables: ['members'],
    });

  it('marks rules on unique columns, and only those', () => {
    const rules = plan({ full_name: { type: 'name' }, bio: { type: 'text' }, nickname: { type: 'null' }, label: { type: 'text' } })
      .tables[0]!.sanitize;
    expect(rules.map((r) => [r.column, r.unique])).toEqual([
      ['full_name', true],
      ['bio', false],
      ['nickname', true],
      ['label', true],
    ]);
    // A catalogue without the flag (older callers) plans non-unique rules.
    expect(planPull(profile(), catalog, request).tables[0]!.sanitize.map((r) => r.unique)).toEqual([false, false]);
  });

  it.each([
    [
      'hash',
      { password: { type: 'hash' } },
      'sanitize.members.password: type "hash" writes the same value into every row, but the column is in a unique index or the primary key; use "null" (NULLs never collide) or a generating type such as "text"',
    ],
    [
      'fixed',
      { nickname: { type: 'fixed', value: 'x' } },
      /^sanitize\.members\.nickname: type "fixed" writes the same value into every row/,
    ],
    ['fixed on NOT NULL', { token: { type: 'fixed', value: 'x' } }, /token: .*; use a generating type such as "text"$/],
    [
      'a name too wide for the column',
      { handle: { type: 'name' } },
      'sanitize.members.handle: is in a unique index, and unique "name" fakes need 39 characters; the column holds only 30',
    ],
    [
      'a phone too wide for the column',
      { phone: { type: 'phone' } },
      'sanitize.members.phone: is in a unique index, and unique "phone" fakes need 27 characters; the column holds only 20',
    ],
    [
      'a unique prefix too short for the tag',
      { code: { type: 'text' } },
      'sanitize.members.code: is in a unique index that covers only its first 10 characters, and unique "text" fakes need 18 to differ',
    ],
  ])('refuses %s on a unique column, naming the field', (_label, sanitize, message) => {
    expect(() => plan(sanitize)).toThrow(PullPlanError);
    expect(() => plan(sanitize)).toThrow(message);
  });

  it('lets a short non-unique column keep its short form', () => {
    expect(() => plan({ bio: { type: 'phone' } })).not.toThrow();
  });

  it('gives every deterministic rule of a type the unique form when one of them is on a unique column, so joins still match', () => {
    const wide = {
      ...uniqueCatalog,
      columns: [...uniqueCatalog.columns, col('alias', { unique: false }), col('motto', { unique: false, maxLength: 120 })],
    };
    const rules = (sanitize: Record<string, unknown>) =>
      planPull(profile({ sanitize: { members: sanitize }, excludeTables: [], piiGuard: false, secretEnv: 'S' }), wide, {
        ...request,
        tables: ['members'],
      }).tables[0]!.sanitize;
    const det = { type: 'name', deterministic: true };
    expect(rules({ full_name: det, alias: det, motto: { type: 'name' } }).map((r) => [r.column, r.unique])).toEqual([
      ['full_name', true],
      ['alias', true],
      ['motto', false],
    ]);
    // Without a deterministic rule on a unique column, non-unique columns keep the short form.
    expect(rules({ alias: det }).map((r) => r.unique)).toEqual([false]);
    // A column too narrow for the shared form is refused, saying which rule decided it.
    expect(() => rules({ full_name: det, bio: det })).toThrow(
      'sanitize.members.bio: deterministic "name" fakes take the unique form (sanitize.members.full_name is in a unique index, and joins between them must match), which needs 39 characters; the column holds only 10',
    );
  });
});

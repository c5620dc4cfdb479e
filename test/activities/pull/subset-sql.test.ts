// The plain subset planners without a server: FK order, the subset statements, which tables sanitize inside the copy.
import { describe, expect, it } from 'vitest';
import { topologicalOrder, type ForeignKey } from '../../../src/activities/pull/fk-graph.ts';
import { planSubset } from '../../../src/activities/pull/subset-sql.ts';
import { fusedTables } from '../../../src/activities/pull/fill-workspace.ts';

const fk = (table: string, column: string, refTable: string): ForeignKey => ({
  name: `fk_${table}_${column}`,
  table,
  columns: [column],
  refTable,
  refColumns: ['id'],
});

describe('foreign-key order', () => {
  it('puts parents first and ignores self-references', () => {
    const { order, cyclic } = topologicalOrder(
      ['orders', 'users', 'items', 'categories'],
      [
        fk('orders', 'user_id', 'users'),
        fk('items', 'order_id', 'orders'),
        fk('categories', 'parent_id', 'categories'),
        fk('users', 'x', 'elsewhere'),
      ],
    );
    expect(order).toEqual(['categories', 'users', 'orders', 'items']);
    expect(cyclic).toEqual([]);
  });

  it('breaks a cycle deterministically and still orders everything', () => {
    const { order, cyclic } = topologicalOrder(
      ['players', 'teams', 'scores'],
      [fk('players', 'team_id', 'teams'), fk('teams', 'captain_id', 'players'), fk('scores', 'player_id', 'players')],
    );
    expect(order).toEqual(['players', 'scores', 'teams']);
    expect(cyclic).toEqual(['players']);
  });
});

describe('subset planning', () => {
  const tables = [
    {
      name: 'users',
      columns: ['id', 'manager_id'],
      primaryKey: ['id'],
      limit: { maxRows: 10, orderBy: 'id', direction: 'desc' as const },
      since: null,
    },
    {
      name: 'orders',
      columns: ['id', 'user_id', 'created_at', 'updated_at'],
      primaryKey: ['id'],
      limit: null,
      since: '2024-01-01 00:00:00',
    },
  ];
  const plan = planSubset({
    source: 'src',
    workspace: 'ws',
    tables,
    foreignKeys: [fk('orders', 'user_id', 'users'), fk('users', 'manager_id', 'users')],
  });

  it('copies unlimited tables with the delta condition as parameters', () => {
    expect(plan.copies).toEqual([
      {
        table: 'orders',
        statement: {
          sql: 'INSERT INTO `ws`.`orders` (`id`, `user_id`, `created_at`, `updated_at`) SELECT s.`id`, s.`user_id`, s.`created_at`, s.`updated_at` FROM `src`.`orders` s WHERE (s.`created_at` >= ? OR s.`updated_at` >= ?)',
          params: ['2024-01-01 00:00:00', '2024-01-01 00:00:00'],
        },
      },
    ]);
  });

  it('pulls in parents of kept rows (bottom-up), self-references included', () => {
    expect(plan.closure.map((s) => s.sql)).toEqual([
      'INSERT INTO `ws`.`users` (`id`, `manager_id`) SELECT s.`id`, s.`manager_id` FROM `src`.`users` s WHERE EXISTS (SELECT 1 FROM `ws`.`orders` c WHERE c.`user_id` = s.`id`) AND NOT EXISTS (SELECT 1 FROM `ws`.`users` x WHERE x.`id` = s.`id`)',
      'INSERT INTO `ws`.`users` (`id`, `manager_id`) SELECT s.`id`, s.`manager_id` FROM `src`.`users` s WHERE EXISTS (SELECT 1 FROM `ws`.`users` c WHERE c.`manager_id` = s.`id`) AND NOT EXISTS (SELECT 1 FROM `ws`.`users` x WHERE x.`id` = s.`id`)',
    ]);
  });

  it('seeds the first maxRows rows by orderBy then key, and prunes seeds whose parent is missing (top-down)', () => {
    expect(plan.seeds[0]!.statements[1]!.sql).toContain('ORDER BY `id` DESC LIMIT 10');
    expect(plan.prune).toHaveLength(1);
    expect(plan.prune[0]!.mark.sql).toContain(
      'w.`manager_id` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM `ws`.`users` p WHERE p.`id` = w.`manager_id`)',
    );
    expect(plan.cleanup.map((s) => s.sql)).toEqual(['DROP TABLE IF EXISTS `ws`.`_dbferry_seed_0`']);
  });

  it('seeds a leaf limited table in one INSERT … ORDER BY … LIMIT beside the copies and prunes it with a DELETE', () => {
    const leaf = planSubset({
      source: 'src',
      workspace: 'ws',
      tables: [
        {
          name: 'orders',
          columns: ['id', 'note'],
          primaryKey: ['id'],
          limit: null,
          since: null,
          select: { sql: 's.`id`, CASE WHEN ? THEN 1 END', params: ['p'] },
        },
        {
          name: 'log',
          columns: ['id', 'order_id'],
          primaryKey: ['id'],
          limit: { maxRows: 5, orderBy: 'id', direction: 'desc' as const },
          since: null,
        },
      ],
      foreignKeys: [fk('log', 'order_id', 'orders')],
    });
    expect(leaf.copies).toEqual([
      {
        table: 'orders',
        statement: {
          sql: 'INSERT INTO `ws`.`orders` (`id`, `note`) SELECT s.`id`, CASE WHEN ? THEN 1 END FROM `src`.`orders` s',
          params: ['p'],
        },
      },
    ]);
    expect(leaf.leafSeeds).toEqual([
      {
        table: 'log',
        statement: {
          sql: 'INSERT INTO `ws`.`log` (`id`, `order_id`) SELECT s.`id`, s.`order_id` FROM `src`.`log` s ORDER BY s.`id` DESC LIMIT 5',
          params: [],
        },
      },
    ]);
    expect(leaf.seeds).toEqual([]);
    expect(leaf.prune).toEqual([
      {
        mark: {
          sql: 'DELETE w FROM `ws`.`log` w WHERE w.`order_id` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM `ws`.`orders` p WHERE p.`id` = w.`order_id`)',
          params: [],
        },
        remove: [],
      },
    ]);
    expect(leaf.cleanup).toEqual([]);
    // Referenced (here by itself) or referencing a limited table: no leaf, the marker path as before.
    expect(plan.leafSeeds).toEqual([]);
  });

  it('fuses rules into the copy only where no key column is sanitized', () => {
    const rule = (column: string) => ({ column, rule: { type: 'email' as const, exclude: [], deterministic: false }, maxLength: 100 });
    const t = (table: string, sanitize: ReturnType<typeof rule>[], primaryKey = ['id']) => ({
      table,
      mode: 'full' as const,
      since: null,
      limit: null,
      sanitize,
      timestamps: false,
      columns: [],
      otherTextColumns: [],
      primaryKey,
      approxRows: 0,
    });
    const fused = fusedTables(
      [
        t('users', [rule('email')]),
        t('accounts', [rule('owner_email')]),
        t('owners', [rule('email')]),
        t('keyed', [rule('code')], ['code']),
        t('plain', []),
      ],
      [{ name: 'fk', table: 'accounts', columns: ['owner_email'], refTable: 'owners', refColumns: ['email'] }],
    );
    expect([...fused]).toEqual(['users']);
  });

  it('refuses a limit on a table without a primary key', () => {
    expect(() => planSubset({ source: 's', workspace: 'w', foreignKeys: [], tables: [{ ...tables[0]!, primaryKey: [] }] })).toThrow(
      /no primary key/,
    );
  });
});

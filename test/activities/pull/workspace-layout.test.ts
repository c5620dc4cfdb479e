// Workspace layouts and the dump rewrite, on names and files only.
import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceLayout, workspaceOfTable } from '../../../src/activities/pull/workspace-layout.ts';
import { planSubset } from '../../../src/activities/pull/subset-sql.ts';
import { renameDumpedCopies } from '../../../src/activities/pull/dump-rewrite.ts';
import { workspaceName } from '../../../src/workflows/pull/contracts.ts';

const ws = workspaceName(1_732_300_000, 'ab12cd34');

describe('workspace layouts', () => {
  it('keeps table names in a workspace database and prefixes them in the source database', () => {
    const db = WorkspaceLayout.of({ workspace: ws });
    expect(db.table('users')).toBe(`\`${ws}\`.\`users\``);
    expect(db.bookkeeping('seed_0')).toBe(`\`${ws}\`.\`_dbferry_seed_0\``);
    const tables = WorkspaceLayout.of({ workspace: ws, inDatabase: 'shop' });
    expect(tables.table('users')).toBe(`\`shop\`.\`${ws}_t_users\``);
    expect(tables.bookkeeping('sanitized')).toBe(`\`shop\`.\`${ws}_b_sanitized\``);
  });

  it('fits long names in 64 characters with a hash, keeping them distinct', () => {
    const layout = WorkspaceLayout.of({ workspace: ws, inDatabase: 'shop' });
    const a = layout.tableName('x'.repeat(40) + '_a');
    const b = layout.tableName('x'.repeat(40) + '_b');
    expect(a).toHaveLength(64);
    expect(a).not.toBe(b);
    expect(workspaceOfTable(a)).toBe(ws);
    expect(layout.originalNames(['x'.repeat(40) + '_a', 'users']).get(a)).toBe('x'.repeat(40) + '_a');
  });

  it('recognises only its own prefixed tables', () => {
    expect(workspaceOfTable(`${ws}_t_users`)).toBe(ws);
    expect(workspaceOfTable(`${ws}_b_seed_3`)).toBe(ws);
    for (const t of ['users', `${ws}users`, `${ws}_x_users`, '_dbferry_tmp_abc_t_users', `_dbferry_tmp_1732300000_AB_t_users`])
      expect(workspaceOfTable(t)).toBeNull();
  });

  it('refuses a name that is not a workspace', () => {
    expect(() => WorkspaceLayout.of({ workspace: 'production', inDatabase: 'shop' })).toThrow(/not a dbferry workspace/);
  });

  it('plans the subset against the prefixed copies, reading the source tables', () => {
    const layout = WorkspaceLayout.of({ workspace: ws, inDatabase: 'shop' });
    const plan = planSubset({
      source: 'shop',
      workspace: layout,
      foreignKeys: [],
      tables: [{ name: 'users', columns: ['id'], primaryKey: ['id'], limit: { maxRows: 3, direction: 'desc' }, since: null }],
    });
    expect(plan.leafSeeds[0]!.statement.sql).toBe(
      `INSERT INTO \`shop\`.\`${ws}_t_users\` (\`id\`) SELECT s.\`id\` FROM \`shop\`.\`users\` s ORDER BY s.\`id\` DESC LIMIT 3`,
    );
  });
});

describe('renaming a dump of prefixed copies', () => {
  it('gives files and statements the original names, the source DDL to full tables and REPLACE to delta tables', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbferry-rename-'));
    try {
      const layout = WorkspaceLayout.of({ workspace: ws, inDatabase: 'shop' });
      const header = "/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n/*!40103 SET TIME_ZONE='+00:00' */;\n";
      await writeFile(join(dir, `shop.${ws}_t_users-schema.sql`), 'CREATE TABLE `x` (id int);\n');
      await writeFile(
        join(dir, `shop.${ws}_t_users.00000.sql`),
        `${header}INSERT INTO \`${ws}_t_users\` VALUES\n(1,"INSERT INTO \`${ws}_t_users\`");\n`,
      );
      await writeFile(join(dir, `shop.${ws}_t_users.00001.sql`), `${header}INSERT INTO \`${ws}_t_users\` VALUES\n(2,"b");\n`);
      await writeFile(join(dir, `shop.${ws}_t_orders-schema.sql`), 'CREATE TABLE `y` (id int);\n');
      await writeFile(join(dir, `shop.${ws}_t_orders.sql`), `${header}INSERT INTO \`${ws}_t_orders\` VALUES\n(7);\n`);
      await writeFile(join(dir, 'shop-schema-create.sql'), 'CREATE DATABASE shop;\n');
      await writeFile(join(dir, 'metadata'), '');
      const ddl = new Map([
        ['users', 'CREATE TABLE `users` (id int, CONSTRAINT fk FOREIGN KEY (id) REFERENCES orders (id))'],
        ['orders', 'CREATE TABLE `orders` (id int)'],
      ]);
      await renameDumpedCopies(dir, layout, ddl, new Set(['orders']));
      expect((await readdir(dir)).sort()).toEqual([
        'metadata',
        'shop-schema-create.sql',
        'shop.orders.sql',
        'shop.users-schema.sql',
        'shop.users.00000.sql',
        'shop.users.00001.sql',
      ]);
      expect(await readFile(join(dir, 'shop.users-schema.sql'), 'utf8')).toContain(
        'CREATE TABLE `users` (id int, CONSTRAINT fk FOREIGN KEY (id) REFERENCES orders (id));\n',
      );
      // Only the statement's table name changes, never a value that happens to look like one.
      expect(await readFile(join(dir, 'shop.users.00000.sql'), 'utf8')).toBe(
        `${header}INSERT INTO \`users\` VALUES\n(1,"INSERT INTO \`${ws}_t_users\`");\n`,
      );
      expect(await readFile(join(dir, 'shop.orders.sql'), 'utf8')).toBe(`${header}REPLACE INTO \`orders\` VALUES\n(7);\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a dump holding a table that is not a copy of a pulled table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbferry-rename-'));
    try {
      await writeFile(join(dir, 'shop.payroll-schema.sql'), 'CREATE TABLE payroll (id int);\n');
      await expect(
        renameDumpedCopies(
          dir,
          WorkspaceLayout.of({ workspace: ws, inDatabase: 'shop' }),
          new Map([['users', 'CREATE TABLE users (id int)']]),
          new Set(),
        ),
      ).rejects.toThrow(/payroll, which is not a copy/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

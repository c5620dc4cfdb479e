// Row limits on a pull keep referential integrity: parents of kept rows kept, children of dropped ones dropped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import { addProfile, checksums, createSubsetDatabase, query, waitForPull, workspaces } from '../../harness/pull-fixtures.ts';

const FKS: Array<[table: string, column: string, parent: string]> = [
  ['categories', 'parent_id', 'categories'],
  ['products', 'category_id', 'categories'],
  ['notes', 'category_id', 'categories'],
  ['teams', 'captain_id', 'players'],
  ['players', 'team_id', 'teams'],
  ['scores', 'player_id', 'players'],
];

const ids = async (db: string, table: string): Promise<number[]> =>
  (await query<{ id: number }>(`SELECT id FROM \`${db}\`.\`${table}\` ORDER BY id`)).map((r) => Number(r.id));

describe('subsetting a pull with row limits', () => {
  let stack: TestStack;
  const source = uniqueDbName('subset_src');
  const destination = uniqueDbName('subset_dst');

  beforeAll(async () => {
    stack = await startTestStack();
    await createSubsetDatabase(source);
    addProfile(stack, 'subset', {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      limits: {
        categories: { maxRows: 7, orderBy: 'id', direction: 'asc' },
        notes: { maxRows: 3, orderBy: 'created_at', direction: 'desc' },
        teams: { maxRows: 2, direction: 'asc' },
        players: { maxRows: 3, orderBy: 'id', direction: 'asc' },
      },
    });
  });
  afterAll(async () => {
    await dropDatabases(source, destination);
    await stack?.stop();
  });

  it('keeps the parents of kept rows, drops the children of dropped ones, through a self-reference and a two-table cycle', async () => {
    const before = await checksums(source);
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'subset' });
    const view = await waitForPull(stack.alice.client, id);
    expect(view.lastError).toBeNull();
    expect(view.status).toBe('succeeded');

    // Unlimited tables come whole.
    expect(await ids(destination, 'products')).toEqual([1, 2, 3]);
    expect(await ids(destination, 'scores')).toEqual([1]);
    // categories: seeds 1–7 (a closed subtree) plus the chains products need: 15→7→3→1, 12→6→3→1.
    expect(await ids(destination, 'categories')).toEqual([1, 2, 3, 4, 5, 6, 7, 12, 15]);
    // notes: the 3 newest are 20 (dropped parent → dropped), 15 and 3.
    expect(await ids(destination, 'notes')).toEqual([2, 3]);
    // The cycle: scores needs player 7 → team 3 → captain 3. Seed team 1's captain (5) is not
    // kept, so team 1 goes, and with it seed player 1; team 2 and player 2 hold each other.
    expect(await ids(destination, 'teams')).toEqual([2, 3]);
    expect(await ids(destination, 'players')).toEqual([2, 3, 7]);

    // No orphans anywhere: every non-null reference has its parent.
    for (const [table, column, parent] of FKS) {
      const orphans =
        await query(`SELECT c.id FROM \`${destination}\`.\`${table}\` c LEFT JOIN \`${destination}\`.\`${parent}\` p ON p.id = c.\`${column}\`
        WHERE c.\`${column}\` IS NOT NULL AND p.id IS NULL`);
      expect(orphans, `${table}.${column}`).toEqual([]);
    }
    // The foreign keys themselves came along.
    const fks = await query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?',
      [destination],
    );
    expect(Number(fks[0]!.n)).toBe(FKS.length);
    expect(view.tables.find((t) => t.table === 'categories')).toMatchObject({ rows: 9, limited: true, sanitized: false, mode: 'full' });
    expect(await checksums(source)).toEqual(before);
    expect(await workspaces()).not.toContain(view.workspace);
  });

  it('pulls only the tables asked for', async () => {
    await query(`DELETE FROM \`${destination}\`.products`);
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'subset', full: true, tables: ['products'] });
    const view = await waitForPull(stack.alice.client, id);
    expect(view.status).toBe('succeeded');
    expect(view.tables.map((t) => t.table)).toEqual(['products']);
    expect(await ids(destination, 'products')).toEqual([1, 2, 3]);
    expect(await ids(destination, 'categories')).toEqual([1, 2, 3, 4, 5, 6, 7, 12, 15]);
  });

  it('seeds a leaf limited table beside the whole-table copies and still drops its orphans', async () => {
    // products is limited, referenced by nothing and references only a whole table: a leaf. Its
    // newest rows are 5 (an orphan the source holds with FK checks off), 4 and 3.
    const leafSource = uniqueDbName('subset_leaf_src');
    const leafDestination = uniqueDbName('subset_leaf_dst');
    try {
      await createSubsetDatabase(leafSource);
      await query(`SET FOREIGN_KEY_CHECKS = 0; INSERT INTO \`${leafSource}\`.products VALUES (4, 20), (5, 99); SET FOREIGN_KEY_CHECKS = 1`);
      addProfile(stack, 'leaf', {
        source: { connection: 'local', database: leafSource },
        destination: { connection: 'local', database: leafDestination },
        limits: { products: { maxRows: 3, orderBy: 'id', direction: 'desc' } },
      });
      const before = await checksums(leafSource);
      const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'leaf' });
      const view = await waitForPull(stack.alice.client, id);
      expect(view.lastError).toBeNull();
      expect(await ids(leafDestination, 'products')).toEqual([3, 4]);
      expect(await ids(leafDestination, 'categories')).toHaveLength(20);
      expect(view.tables.find((t) => t.table === 'products')).toMatchObject({ rows: 2, limited: true });
      expect(await checksums(leafSource)).toEqual(before);
      expect(await workspaces()).not.toContain(view.workspace);
    } finally {
      await dropDatabases(leafSource, leafDestination);
    }
  });
});

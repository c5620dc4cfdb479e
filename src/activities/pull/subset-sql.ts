// The set-based statements that fill the workspace with a subset closed under foreign keys.
import { quoteIdentifier } from '../../shared/names.ts';
import type { RowLimit } from '../../config/pull-profiles.ts';
import type { ForeignKey } from './fk-graph.ts';
import type { SqlStatement } from './sql-statement.ts';
import { WorkspaceLayout } from './workspace-layout.ts';

// The workspace is filled with set-based statements only (seed 002's "stateless subset resolver"):
//
// 1. copy: every unlimited table in full (or its changed rows in a delta pull);
// 2. closure (bottom-up inclusion), repeated until nothing more arrives: the rows of limited
//    tables that rows already in the workspace reference are copied in, whatever the limit;
//    self-references and FK cycles simply take more rounds;
// 3. seeds: each limited table's first maxRows rows (by orderBy, then primary key) that are not
//    there yet, remembered in a marker table. A limited table that no pulled table references and
//    that references no limited table (a leaf, such as a log) can get no closure rows and adds
//    none: its seeds go in with one INSERT … ORDER BY … LIMIT alongside the whole-table copies,
//    and every row of it is a seed, so its pruning deletes straight from it (no marker table);
// 4. prune (top-down exclusion), repeated until nothing changes: a seed row whose parent is not
//    in the pull is dropped, and so, next round, are the seed rows that referenced it.
//
// The result is closed under foreign keys: every referenced parent is present and no row is an
// orphan; a limited table holds at most maxRows rows of its own choosing plus the rows other kept
// rows need.

export interface SubsetTable {
  name: string;
  /** Columns written by INSERT (generated columns left out). */
  columns: string[];
  primaryKey: string[];
  limit: RowLimit | null;
  /** Only rows changed since this time (a delta pull); null pulls the whole table. */
  since: string | null;
  /**
   * The SELECT list over the source row `s`, in `columns` order, when it is not the bare columns:
   * sanitized columns as their fake-value expressions (sanitization fused into the copy).
   */
  select?: SqlStatement;
  /** Not copied into the workspace (dumped from the source): statements read the source table instead. */
  direct?: boolean;
}

export interface SubsetPlan {
  copies: Array<{ table: string; statement: SqlStatement }>;
  /** Seeds of leaf limited tables: independent of everything else, run alongside the copies. */
  leafSeeds: Array<{ table: string; statement: SqlStatement }>;
  closure: SqlStatement[];
  seeds: Array<{ table: string; statements: SqlStatement[] }>;
  prune: Array<{ mark: SqlStatement; remove: SqlStatement[] }>;
  cleanup: SqlStatement[];
}

const q = quoteIdentifier;
const list = (cols: string[], alias?: string): string => cols.map((c) => (alias ? `${alias}.${q(c)}` : q(c))).join(', ');
const matches = (left: string, lcols: string[], right: string, rcols: string[]): string =>
  lcols.map((c, i) => `${left}.${q(c)} = ${right}.${q(rcols[i]!)}`).join(' AND ');

/** `created_at >= ? OR updated_at >= ?`: the seed's delta filter. */
export const deltaCondition = (alias: string): string => `(${alias}.\`created_at\` >= ? OR ${alias}.\`updated_at\` >= ?)`;

/** The bookkeeping table remembering which rows of the i-th limited table are seeds. */
export const seedMarker = (index: number): string => `seed_${index}`;

/**
 * Plans the statements that fill the workspace from the source for `tables` (already in FK
 * order), honouring the foreign keys between them. FKs to tables outside the pull are ignored.
 * A workspace given by name is a workspace database (the `database` strategy).
 */
export function planSubset(opts: {
  source: string;
  workspace: string | WorkspaceLayout;
  tables: SubsetTable[];
  foreignKeys: ForeignKey[];
}): SubsetPlan {
  const layout = typeof opts.workspace === 'string' ? WorkspaceLayout.database(opts.workspace) : opts.workspace;
  const byName = new Map(opts.tables.map((t) => [t.name, t]));
  const src = (t: string): string => `${q(opts.source)}.${q(t)}`;
  // A direct table is whole in the pull, so its source table stands in for its copy.
  const ws = (t: string): string => (byName.get(t)?.direct ? src(t) : layout.table(t));
  const fks = opts.foreignKeys.filter((fk) => byName.has(fk.table) && byName.has(fk.refTable));
  const plan: SubsetPlan = { copies: [], leafSeeds: [], closure: [], seeds: [], prune: [], cleanup: [] };
  const deltaParams = (t: SubsetTable): string[] => (t.since ? [t.since, t.since] : []);
  const select = (t: SubsetTable): SqlStatement => t.select ?? { sql: list(t.columns, 's'), params: [] };
  const isLeaf = (t: SubsetTable): boolean =>
    !fks.some((fk) => fk.refTable === t.name || (fk.table === t.name && byName.get(fk.refTable)!.limit));

  for (const t of opts.tables.filter((t) => !t.limit && !t.direct)) {
    plan.copies.push({
      table: t.name,
      statement: {
        sql: `INSERT INTO ${ws(t.name)} (${list(t.columns)}) SELECT ${select(t).sql} FROM ${src(t.name)} s${t.since ? ` WHERE ${deltaCondition('s')}` : ''}`,
        params: [...select(t).params, ...deltaParams(t)],
      },
    });
  }

  // Bottom-up: parents in limited tables of every row in the workspace, from the whole source.
  for (const fk of fks) {
    const parent = byName.get(fk.refTable)!;
    if (!parent.limit) continue;
    plan.closure.push({
      sql:
        `INSERT INTO ${ws(parent.name)} (${list(parent.columns)}) SELECT ${select(parent).sql} FROM ${src(parent.name)} s` +
        ` WHERE EXISTS (SELECT 1 FROM ${ws(fk.table)} c WHERE ${matches('c', fk.columns, 's', fk.refColumns)})` +
        ` AND NOT EXISTS (SELECT 1 FROM ${ws(parent.name)} x WHERE ${matches('x', parent.primaryKey, 's', parent.primaryKey)})`,
      params: [...select(parent).params],
    });
  }

  opts.tables.forEach((t, index) => {
    if (!t.limit) return;
    if (!t.primaryKey.length) throw new Error(`table "${t.name}" has a row limit but no primary key`);
    const marker = layout.bookkeeping(seedMarker(index));
    const dir = t.limit.direction === 'asc' ? 'ASC' : 'DESC';
    const orderColumns = [...new Set([...(t.limit.orderBy ? [t.limit.orderBy] : []), ...t.primaryKey])];
    const order = orderColumns.map((c) => `${q(c)} ${dir}`).join(', ');
    if (isLeaf(t)) {
      plan.leafSeeds.push({
        table: t.name,
        statement: {
          sql:
            `INSERT INTO ${ws(t.name)} (${list(t.columns)}) SELECT ${select(t).sql} FROM ${src(t.name)} s${t.since ? ` WHERE ${deltaCondition('s')}` : ''}` +
            ` ORDER BY ${orderColumns.map((c) => `s.${q(c)} ${dir}`).join(', ')} LIMIT ${Math.trunc(t.limit.maxRows)}`,
          params: [...select(t).params, ...deltaParams(t)],
        },
      });
      // Its parents are whole tables (a limited parent would make it no leaf): they need only exist.
      for (const fk of fks.filter((f) => f.table === t.name)) {
        const parent = byName.get(fk.refTable)!;
        const parentRows = parent.since ? src(parent.name) : ws(parent.name);
        plan.prune.push({
          mark: {
            sql:
              `DELETE w FROM ${ws(t.name)} w WHERE ${fk.columns.map((c) => `w.${q(c)} IS NOT NULL`).join(' AND ')}` +
              ` AND NOT EXISTS (SELECT 1 FROM ${parentRows} p WHERE ${matches('p', fk.refColumns, 'w', fk.columns)})`,
            params: [],
          },
          remove: [],
        });
      }
      return;
    }
    plan.seeds.push({
      table: t.name,
      statements: [
        { sql: `DROP TABLE IF EXISTS ${marker}`, params: [] },
        {
          sql:
            `CREATE TABLE ${marker} (PRIMARY KEY (${list(t.primaryKey)})) ENGINE=InnoDB` +
            ` SELECT ${list(t.primaryKey, 'f')}, 0 AS \`_dbferry_dropped\`` +
            ` FROM (SELECT ${list(t.primaryKey)} FROM ${src(t.name)} s${t.since ? ` WHERE ${deltaCondition('s')}` : ''} ORDER BY ${order} LIMIT ${Math.trunc(t.limit.maxRows)}) f` +
            ` WHERE NOT EXISTS (SELECT 1 FROM ${ws(t.name)} x WHERE ${matches('x', t.primaryKey, 'f', t.primaryKey)})`,
          params: deltaParams(t),
        },
        {
          sql: `INSERT INTO ${ws(t.name)} (${list(t.columns)}) SELECT ${select(t).sql} FROM ${src(t.name)} s JOIN ${marker} m ON ${matches('m', t.primaryKey, 's', t.primaryKey)}`,
          params: [...select(t).params],
        },
      ],
    });
    // Top-down: a seed whose parent is not in the pull goes. Parents in limited tables must be in
    // the workspace; parents in whole tables need only exist (in a delta pull they may be unchanged).
    for (const fk of fks.filter((f) => f.table === t.name)) {
      const parent = byName.get(fk.refTable)!;
      const parentRows = parent.limit || !parent.since ? ws(parent.name) : src(parent.name);
      plan.prune.push({
        mark: {
          sql:
            `UPDATE ${marker} m JOIN ${ws(t.name)} w ON ${matches('w', t.primaryKey, 'm', t.primaryKey)} SET m.\`_dbferry_dropped\` = 1` +
            ` WHERE m.\`_dbferry_dropped\` = 0 AND ${fk.columns.map((c) => `w.${q(c)} IS NOT NULL`).join(' AND ')}` +
            ` AND NOT EXISTS (SELECT 1 FROM ${parentRows} p WHERE ${matches('p', fk.refColumns, 'w', fk.columns)})`,
          params: [],
        },
        remove: [
          {
            sql: `DELETE w FROM ${ws(t.name)} w JOIN ${marker} m ON ${matches('w', t.primaryKey, 'm', t.primaryKey)} WHERE m.\`_dbferry_dropped\` = 1`,
            params: [],
          },
          { sql: `DELETE FROM ${marker} WHERE \`_dbferry_dropped\` = 1`, params: [] },
        ],
      });
    }
    plan.cleanup.push({ sql: `DROP TABLE IF EXISTS ${marker}`, params: [] });
  });
  return plan;
}

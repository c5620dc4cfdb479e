// Plans a pull from its profile and the source's catalogue, table by table: mode, limit, rules, and what can go direct.
import type { PullProfile, RowLimit, SanitizeRule, SanitizerType } from '../../config/pull-profiles.ts';
import type { Catalog, CatalogColumn } from './pull-catalog.ts';
import { topologicalOrder } from './fk-graph.ts';
import { textTypes, type SanitizeColumn } from './sanitize-sql.ts';
import { uniqueFormLength } from './fake-forms.ts';
import { findUnruledPii } from './pii-guard.ts';

/** A profile or request that does not fit the source's schema: names the field, nothing has run. */
export class PullPlanError extends Error {
  override name = 'PullPlanError';
  constructor(
    readonly field: string,
    message: string,
    readonly kind: 'InvalidProfile' | 'PiiGuard' = 'InvalidProfile',
  ) {
    super(`${field}: ${message}`);
  }
}

export interface TablePlan {
  table: string;
  mode: 'full' | 'delta';
  /** The watermark a delta table pulls from (rows created or updated at or after it). */
  since: string | null;
  limit: RowLimit | null;
  sanitize: SanitizeColumn[];
  /** Has both created_at and updated_at, so later pulls can be deltas. */
  timestamps: boolean;
  /** Columns INSERT writes (generated columns are computed, not copied). */
  columns: string[];
  /** Text columns without a rule, where the gate looks for leaked originals. */
  otherTextColumns: string[];
  primaryKey: string[];
  approxRows: number;
  /**
   * Dumped straight from the source instead of copied into the workspace: a whole table (full
   * mode, no limit) with no rules, referencing no limited table, so every row of it is pulled as
   * it is and no subset statement depends on which rows it holds. Saves an INSERT … SELECT.
   */
  direct?: boolean;
  /**
   * Sanitized by UPDATE after the subset is built (a rule on a key column), not inside the copy:
   * its workspace copy stays InnoDB so each UPDATE commits with its marker row. Set by preparePull.
   */
  sanitizeInPlace?: boolean;
}

export interface PullPlan {
  /** In foreign-key order, parents first. */
  tables: TablePlan[];
  excluded: string[];
  /** Tables in an FK cycle whose order had to be broken. */
  cyclic: string[];
}

export interface PlanRequest {
  full: boolean;
  /** `--tables a,b`: only these; null pulls every table but the excluded ones. */
  tables: string[] | null;
  /** Last successful pull per table into this destination. */
  watermarks: Record<string, string>;
  /** Tables the destination already has (a delta needs them there). */
  destinationTables: ReadonlySet<string>;
}

const STRING_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/**
 * Deterministic rules give equal fakes for equal inputs so joins on sanitized columns still match;
 * but a column in a unique index needs the unique form. So when a deterministic rule of some type
 * sits on a unique column anywhere in the profile, every deterministic rule of that type takes the
 * unique form (decided from the whole profile, not the tables of one request, so every run agrees).
 * Returns, per such type, the rule that decided it.
 */
function sharedUniqueForms(profile: PullProfile, columnsOf: Map<string, CatalogColumn[]>): Map<SanitizerType, string> {
  const shared = new Map<SanitizerType, string>();
  for (const [table, rules] of Object.entries(profile.sanitize)) {
    for (const [column, rule] of Object.entries(rules)) {
      if (!rule.deterministic || shared.has(rule.type)) continue;
      if (columnsOf.get(table)?.find((c) => c.name === column)?.unique) shared.set(rule.type, `sanitize.${table}.${column}`);
    }
  }
  return shared;
}

function checkRule(
  table: string,
  col: CatalogColumn | undefined,
  column: string,
  rule: SanitizeRule,
  sharedUnique: Map<SanitizerType, string>,
): SanitizeColumn {
  const field = `sanitize.${table}.${column}`;
  if (!col) throw new PullPlanError(field, `no column "${column}" in table "${table}" of the source database`);
  if (col.generated) throw new PullPlanError(field, 'is a generated column; sanitize the columns it is computed from');
  if (textTypes.has(rule.type) && !STRING_TYPES.has(col.dataType)) {
    throw new PullPlanError(field, `type "${rule.type}" writes text, but the column is ${col.dataType}; use "null" or "fixed"`);
  }
  if (rule.type === 'null' && !col.nullable) throw new PullPlanError(field, 'type "null" on a NOT NULL column; use "fixed"');
  if (rule.exclude.length && !STRING_TYPES.has(col.dataType))
    throw new PullPlanError(`${field}.exclude`, `exclude patterns need a text column (this one is ${col.dataType})`);
  if (col.unique) {
    checkUnique(field, col, rule);
    return { column, rule, maxLength: col.maxLength, unique: true };
  }
  const decidedBy = rule.deterministic ? sharedUnique.get(rule.type) : undefined;
  if (decidedBy) {
    const need = uniqueFormLength(rule.type);
    if (need !== null && col.maxLength !== null && col.maxLength < need) {
      throw new PullPlanError(
        field,
        `deterministic "${rule.type}" fakes take the unique form (${decidedBy} is in a unique index, and joins between them must match), which needs ${need} characters; the column holds only ${col.maxLength}`,
      );
    }
    return { column, rule, maxLength: col.maxLength, unique: true };
  }
  return { column, rule, maxLength: col.maxLength, unique: false };
}

/** A unique column needs fakes that never repeat: a form with 64 bits of the seed, and room for it. */
function checkUnique(field: string, col: CatalogColumn, rule: SanitizeRule): void {
  const need = uniqueFormLength(rule.type);
  if (need === null) {
    const instead = col.nullable
      ? 'use "null" (NULLs never collide) or a generating type such as "text"'
      : 'use a generating type such as "text"';
    throw new PullPlanError(
      field,
      `type "${rule.type}" writes the same value into every row, but the column is in a unique index or the primary key; ${instead}`,
    );
  }
  const prefix = col.uniquePrefix ?? null;
  if (col.maxLength !== null && col.maxLength < need) {
    throw new PullPlanError(
      field,
      `is in a unique index, and unique "${rule.type}" fakes need ${need} characters; the column holds only ${col.maxLength}`,
    );
  }
  if (prefix !== null && prefix < need) {
    throw new PullPlanError(
      field,
      `is in a unique index that covers only its first ${prefix} characters, and unique "${rule.type}" fakes need ${need} to differ`,
    );
  }
}

/**
 * Checks every name in the profile and request against the source's catalogue, applies the PII
 * guard, and decides per table: full or delta, limit, rules, columns. Throws PullPlanError.
 */
export function planPull(profile: PullProfile, catalog: Catalog, request: PlanRequest): PullPlan {
  const tables = new Set(catalog.tables);
  const columnsOf = new Map<string, CatalogColumn[]>();
  for (const c of catalog.columns) columnsOf.set(c.table, [...(columnsOf.get(c.table) ?? []), c]);
  const source = `${profile.source.connection}/${profile.source.database}`;

  for (const t of Object.keys(profile.sanitize))
    if (!tables.has(t)) throw new PullPlanError(`sanitize.${t}`, `no table "${t}" in ${source}`);
  for (const [t, limit] of Object.entries(profile.limits)) {
    if (!tables.has(t)) throw new PullPlanError(`limits.${t}`, `no table "${t}" in ${source}`);
    if (limit.orderBy && !columnsOf.get(t)?.some((c) => c.name === limit.orderBy)) {
      throw new PullPlanError(`limits.${t}.orderBy`, `no column "${limit.orderBy}" in table "${t}"`);
    }
    if (!catalog.primaryKeys[t]?.length) throw new PullPlanError(`limits.${t}`, `table "${t}" has no primary key; a row limit needs one`);
  }
  // Seed 002 lists tables that may not exist everywhere (telescope_*): a missing excluded table is fine.
  const excluded = profile.excludeTables.filter((t) => tables.has(t));
  const excludedSet = new Set(profile.excludeTables);
  for (const t of request.tables ?? []) {
    if (!tables.has(t)) throw new PullPlanError('tables', `no table "${t}" in ${source}`);
    if (excludedSet.has(t)) throw new PullPlanError('tables', `table "${t}" is in the profile's excludeTables`);
  }
  const selected = (request.tables ?? catalog.tables).filter((t) => !excludedSet.has(t));
  if (!selected.length) throw new PullPlanError('tables', 'nothing to pull: every table is excluded');

  if (profile.piiGuard) {
    // Generated columns are recomputed from the sanitized ones, so they need no rule of their own.
    const unruled = findUnruledPii(
      selected.flatMap((t) => columnsOf.get(t) ?? []).filter((c) => !c.generated),
      profile,
    );
    if (unruled.length) {
      throw new PullPlanError(
        'sanitize',
        `columns that look like personal data have no rule: ${unruled.join(', ')}. Add rules, or list them in piiAllow`,
        'PiiGuard',
      );
    }
  }

  const sharedUnique = sharedUniqueForms(profile, columnsOf);
  const { order, cyclic } = topologicalOrder(selected, catalog.foreignKeys);
  const selectedSet = new Set(selected);
  const referencesLimited = (table: string): boolean =>
    catalog.foreignKeys.some((fk) => fk.table === table && selectedSet.has(fk.refTable) && profile.limits[fk.refTable] !== undefined);
  const plans = order.map((table): TablePlan => {
    const cols = columnsOf.get(table) ?? [];
    const rules = profile.sanitize[table] ?? {};
    const sanitize = Object.entries(rules).map(([column, rule]) =>
      checkRule(
        table,
        cols.find((c) => c.name === column),
        column,
        rule,
        sharedUnique,
      ),
    );
    const timestamps = cols.some((c) => c.name === 'created_at') && cols.some((c) => c.name === 'updated_at');
    const since = request.watermarks[table];
    const delta = !request.full && timestamps && since !== undefined && request.destinationTables.has(table);
    return {
      table,
      mode: delta ? 'delta' : 'full',
      since: delta ? since! : null,
      limit: profile.limits[table] ?? null,
      sanitize,
      timestamps,
      columns: cols.filter((c) => !c.generated).map((c) => c.name),
      otherTextColumns: cols.filter((c) => !c.generated && STRING_TYPES.has(c.dataType) && !rules[c.name]).map((c) => c.name),
      primaryKey: catalog.primaryKeys[table] ?? [],
      approxRows: catalog.approxRows[table] ?? 0,
      direct: !delta && !sanitize.length && !profile.limits[table] && !referencesLimited(table),
    };
  });
  return { tables: plans, excluded, cyclic: cyclic.filter((t) => selected.includes(t)) };
}

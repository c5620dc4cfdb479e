// The fake-value SQL of sanitization: one CASE expression per column, keyed by session variables.
import { quoteIdentifier } from '../../shared/names.ts';
import type { SanitizeRule, SanitizerType } from '../../config/pull-profiles.ts';
import { excludeCondition } from './patterns.ts';
import { fakeForms } from './fake-forms.ts';
import type { SqlStatement } from './sql-statement.ts';

// Sanitization happens in the database, one UPDATE per table (seed 002: no row iteration in the
// application). Every fake value is a pure function of the original and a key held in a session
// variable: the profile's secret for deterministic rules (equal inputs, equal fakes, in every
// table and run), a random key drawn for this run otherwise. Each type has a primary and an
// alternate form that always differ (fake-forms.ts), so a fake can never equal the value it replaces.

/** Session variables the sanitizing connection sets first; the secret itself never appears in a statement. */
export const DETERMINISTIC_KEY_VAR = '@dbferry_pull_key';
export const RUN_KEY_VAR = '@dbferry_run_key';

/** One sanitized column as planned against the workspace's catalogue. */
export interface SanitizeColumn {
  column: string;
  rule: SanitizeRule;
  /** CHARACTER_MAXIMUM_LENGTH of a string column, so a fake never overflows it. */
  maxLength: number | null;
  /**
   * The column is in a unique index (or the primary key): the fake carries 64 bits of the seed
   * (see uniqueFormLength), so distinct originals get distinct fakes. Absent means false.
   */
  unique?: boolean;
}

/** Types that generate text and so need a string column. */
export const textTypes: ReadonlySet<SanitizerType> = new Set(['email', 'name', 'phone', 'text', 'address', 'hash']);
/** Types whose originals identify a person: the gate also looks for them in the row's other columns. */
export const identityTypes: ReadonlySet<SanitizerType> = new Set(['email', 'name', 'phone', 'address']);

/** bcrypt of "password" (the Laravel factory hash): sanitized users can log in with `password`. */
export const SANITIZED_PASSWORD_HASH = '$2y$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi';

/** The per-row seed: 64 hex digits from the key and the (normalised) original. */
function seedHex(col: string, rule: SanitizeRule): string {
  const key = rule.deterministic ? DETERMINISTIC_KEY_VAR : RUN_KEY_VAR;
  // Emails are compared case-insensitively almost everywhere, so `Bob@x` and `bob@x` get one fake.
  const input = rule.type === 'email' ? `LOWER(TRIM(${col}))` : col;
  return `SHA2(CONCAT(${key}, '|', ${input}), 256)`;
}

const truncate = (expr: string, maxLength: number | null): string =>
  maxLength && maxLength < 100_000 ? `LEFT(${expr}, ${maxLength})` : expr;

/**
 * The fake-value expression for one column, reading the original from `ref` (the bare column in an
 * UPDATE, `s.col` in an INSERT … SELECT from the source), with its parameters.
 */
export function sanitizeExpression(c: SanitizeColumn, ref: string = quoteIdentifier(c.column)): SqlStatement {
  const col = ref;
  const excluded = excludeCondition(col, c.rule.exclude);
  const keep = excluded ? [`WHEN ${excluded.sql} THEN ${col}`] : [];
  const params: unknown[] = [...(excluded?.params ?? [])];
  let fake: string;
  switch (c.rule.type) {
    case 'null':
      return { sql: `CASE ${keep.join(' ')} ${keep.length ? 'ELSE NULL END' : 'WHEN 1 THEN NULL END'}`, params };
    case 'fixed':
      if (c.unique) throw new Error(`type "fixed" cannot fill the unique column ${c.column}`);
      params.push(c.rule.value ?? null);
      return { sql: `CASE ${keep.join(' ')} ${keep.length ? 'ELSE ? END' : 'WHEN 1 THEN ? END'}`, params };
    case 'hash':
      // The planner refuses this; a second line of defence against a duplicate-key failure mid-pull.
      if (c.unique) throw new Error(`type "hash" cannot fill the unique column ${c.column}`);
      params.push(SANITIZED_PASSWORD_HASH);
      fake = '?';
      break;
    default: {
      const [primary, alternate] = fakeForms(c.rule.type, col, seedHex(col, c.rule), c.unique === true);
      fake = truncate(`IF(${primary} <=> ${col}, ${alternate}, ${primary})`, c.maxLength);
    }
  }
  // NULL and empty originals carry no personal data: they stay as they are.
  return { sql: `CASE WHEN ${col} IS NULL OR ${col} = '' THEN ${col} ${keep.join(' ')} ELSE ${fake} END`, params };
}

/** The SET clause for one column: `col = CASE … END`, with its parameters. */
export function sanitizeAssignment(c: SanitizeColumn): SqlStatement {
  const e = sanitizeExpression(c);
  return { sql: `${quoteIdentifier(c.column)} = ${e.sql}`, params: e.params };
}

/**
 * The SELECT list of an INSERT … SELECT from the source aliased `alias`: every column as it is,
 * except the sanitized ones, which are their fake-value expressions (sanitization fused into the
 * copy, so the raw value is never written to the workspace).
 */
export function sanitizedSelectList(columns: string[], rules: SanitizeColumn[], alias: string): SqlStatement {
  const byColumn = new Map(rules.map((r) => [r.column, r]));
  const parts = columns.map((c) => {
    const ref = `${alias}.${quoteIdentifier(c)}`;
    const rule = byColumn.get(c);
    return rule ? sanitizeExpression(rule, ref) : { sql: ref, params: [] };
  });
  return { sql: parts.map((p) => p.sql).join(', '), params: parts.flatMap((p) => p.params) };
}

/** One UPDATE for every sanitized column of a table in the workspace. */
export function sanitizeStatement(workspace: string, table: string, columns: SanitizeColumn[]): SqlStatement {
  const parts = columns.map(sanitizeAssignment);
  return {
    sql: `UPDATE ${quoteIdentifier(workspace)}.${quoteIdentifier(table)} SET ${parts.map((p) => p.sql).join(', ')}`,
    params: parts.flatMap((p) => p.params),
  };
}

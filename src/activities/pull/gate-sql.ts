// The sanitization gate's SQL: one query per table counting the original values still in the workspace.
import { quoteIdentifier } from '../../shared/names.ts';
import { excludeCondition } from './patterns.ts';
import { identityTypes, SANITIZED_PASSWORD_HASH, type SanitizeColumn } from './sanitize-sql.ts';
import type { SqlStatement } from './sql-statement.ts';

/** A value the rule writes on purpose and that is public: never counted as a leak. */
function publicValue(c: SanitizeColumn): { sql: string; params: unknown[] } | null {
  if (c.rule.type === 'hash') return { sql: '?', params: [SANITIZED_PASSWORD_HASH] };
  if (c.rule.type === 'fixed') return { sql: '?', params: [c.rule.value ?? null] };
  return null;
}

/** One leak count in the gate: what it measures, for the error message. */
export interface GateCheck {
  label: string;
}

/**
 * The sanitization gate for one table: a single query counting, per sanitized column, rows of the
 * workspace that still hold their original value (joined to the source by primary key), and rows
 * where another text column of the same row holds a sanitized column's original (an email copied
 * into `login`). Originals matching an exclude pattern, NULL and '' are not leaks. Without a
 * primary key the same-column check looks the value up in the whole source column instead.
 */
export function gateStatement(opts: {
  workspace: string;
  source: string;
  table: string;
  columns: SanitizeColumn[];
  primaryKey: string[];
  otherTextColumns: string[];
  /** The workspace copy's name when it is not the table's (prefixed tables in the source database). */
  workspaceTable?: string;
}): { statement: SqlStatement; checks: GateCheck[] } {
  const ws = `${quoteIdentifier(opts.workspace)}.${quoteIdentifier(opts.workspaceTable ?? opts.table)}`;
  const src = `${quoteIdentifier(opts.source)}.${quoteIdentifier(opts.table)}`;
  const sums: string[] = [];
  const params: unknown[] = [];
  const checks: GateCheck[] = [];
  const byKey = opts.primaryKey.length > 0;
  for (const c of opts.columns) {
    const q = quoteIdentifier(c.column);
    const original = byKey ? `s.${q}` : `w.${q}`;
    const excluded = excludeCondition(original, c.rule.exclude);
    const pub = publicValue(c);
    const conditions = [`${original} IS NOT NULL`, `${original} <> ''`];
    const condParams: unknown[] = [];
    if (excluded) {
      conditions.push(`NOT (${excluded.sql})`);
      condParams.push(...excluded.params);
    }
    if (pub) {
      conditions.push(`NOT (w.${q} <=> ${pub.sql})`);
      condParams.push(...pub.params);
    }
    if (byKey) conditions.push(`w.${q} <=> s.${q}`);
    else conditions.push(`EXISTS (SELECT 1 FROM ${src} s WHERE s.${q} = w.${q})`);
    sums.push(`SUM(CASE WHEN ${conditions.join(' AND ')} THEN 1 ELSE 0 END)`);
    params.push(...condParams);
    checks.push({ label: `${opts.table}.${c.column} still holds original values` });
    if (!byKey || !identityTypes.has(c.rule.type)) continue;
    for (const other of opts.otherTextColumns) {
      const o = quoteIdentifier(other);
      const siblingExcluded = excludeCondition(`s.${q}`, c.rule.exclude);
      sums.push(
        `SUM(CASE WHEN s.${q} IS NOT NULL AND CHAR_LENGTH(s.${q}) >= 3 ${siblingExcluded ? `AND NOT (${siblingExcluded.sql})` : ''} AND CAST(w.${o} AS BINARY) = CAST(s.${q} AS BINARY) THEN 1 ELSE 0 END)`,
      );
      params.push(...(siblingExcluded?.params ?? []));
      checks.push({ label: `${opts.table}.${other} holds original values of the sanitized column ${opts.table}.${c.column}` });
    }
  }
  const join = byKey
    ? ` JOIN ${src} s ON ${opts.primaryKey.map((k) => `s.${quoteIdentifier(k)} = w.${quoteIdentifier(k)}`).join(' AND ')}`
    : '';
  const select = sums.map((s, i) => `COALESCE(${s}, 0) AS c${i}`).join(', ');
  return { statement: { sql: `SELECT ${select} FROM ${ws} w${join}`, params }, checks };
}

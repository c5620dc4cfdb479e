import { quoteIdentifier } from '../../shared/names.ts';
import type { SanitizeRule, SanitizerType } from '../../config/pull-profiles.ts';
import { excludeCondition } from './patterns.ts';

// Sanitization happens in the database, one UPDATE per table (seed 002: no row iteration in the
// application). Every fake value is a pure function of the original and a key held in a session
// variable: the profile's secret for deterministic rules (equal inputs, equal fakes, in every
// table and run), a random key drawn for this run otherwise. Each type has a primary and an
// alternate form that always differ, so a fake can never equal the value it replaces.

/** Session variables the sanitizing connection sets first; the secret itself never appears in a statement. */
export const DETERMINISTIC_KEY_VAR = '@dbferry_pull_key';
export const RUN_KEY_VAR = '@dbferry_run_key';

/** A parameterised statement: identifiers quoted by quoteIdentifier, every value a parameter. */
export interface SqlStatement {
  sql: string;
  params: unknown[];
}

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

const FIRST = [
  'James',
  'Mary',
  'Robert',
  'Patricia',
  'John',
  'Jennifer',
  'Michael',
  'Linda',
  'David',
  'Elizabeth',
  'William',
  'Barbara',
  'Richard',
  'Susan',
  'Joseph',
  'Jessica',
  'Thomas',
  'Sarah',
  'Charles',
  'Karen',
  'Daniel',
  'Lisa',
  'Matthew',
  'Nancy',
  'Anthony',
  'Betty',
  'Mark',
  'Sandra',
  'Donald',
  'Ashley',
  'Steven',
  'Emily',
  'Paul',
  'Donna',
  'Andrew',
  'Michelle',
  'Joshua',
  'Carol',
  'Kenneth',
  'Amanda',
];
const LAST = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Gonzalez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Martin',
  'Lee',
  'Perez',
  'Thompson',
  'White',
  'Harris',
  'Sanchez',
  'Clark',
  'Ramirez',
  'Lewis',
  'Robinson',
  'Walker',
  'Young',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Torres',
  'Nguyen',
  'Hill',
  'Flores',
];
const STREETS = [
  'Maple',
  'Oak',
  'Cedar',
  'Pine',
  'Elm',
  'Birch',
  'Willow',
  'Lake',
  'Hill',
  'River',
  'Sunset',
  'Park',
  'Meadow',
  'Forest',
  'Spring',
  'Highland',
];
const SUFFIXES = ['Street', 'Avenue', 'Road', 'Lane', 'Drive', 'Court', 'Way', 'Place'];
const CITIES = [
  'Springfield',
  'Riverton',
  'Fairview',
  'Lakeside',
  'Greenville',
  'Kingston',
  'Bristol',
  'Clinton',
  'Madison',
  'Georgetown',
  'Salem',
  'Franklin',
];
const LOREM = 'Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore. ';
const SED = 'Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium. ';

// The lists are constants written here, not input; they still go through the string quoter.
const sqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const elt = (index: string, list: readonly string[]): string => `ELT(1 + MOD(${index}, ${list.length}), ${list.map(sqlString).join(', ')})`;

/** The per-row seed: 64 hex digits from the key and the (normalised) original. */
function seedHex(col: string, rule: SanitizeRule): string {
  const key = rule.deterministic ? DETERMINISTIC_KEY_VAR : RUN_KEY_VAR;
  // Emails are compared case-insensitively almost everywhere, so `Bob@x` and `bob@x` get one fake.
  const input = rule.type === 'email' ? `LOWER(TRIM(${col}))` : col;
  return `SHA2(CONCAT(${key}, '|', ${input}), 256)`;
}

/** A number 0–16777215 from six hex digits of the seed starting at `at` (1-based). */
const num = (h: string, at: number): string => `CONV(SUBSTRING(${h}, ${at}, 6), 16, 10)`;

// Unique forms (columns in a unique index). The short forms above draw on a few dozen bits at most
// and collide long before a table is large, so a unique column's fake also carries TAG_HEX hex
// digits of the seed (64 bits: about 3 in 10,000 odds of any collision among 100M distinct values).
// The tag sits where truncation to the column width cannot reach it (the planner refuses columns
// narrower than uniqueFormLength), and the primary and alternate forms differ in their shape, not
// only in their bits, so a primary fake can never equal another row's alternate fake.
const TAG_HEX = 16;
/** The tag: the seed's last 16 hex digits (the short parts of the forms read its first ones). */
const tag = (h: string): string => `SUBSTRING(${h}, ${65 - TAG_HEX}, ${TAG_HEX})`;
/** 20 decimal digits, a bijection of the tag's 64 bits (2^64 - 1 has 20 digits). */
const tagDigits = (h: string): string => `LPAD(CONV(${tag(h)}, 16, 10), 20, '0')`;
const longest = (list: readonly string[]): number => Math.max(...list.map((s) => s.length));
/** Text shorter than this gets padded: the tag, a space, and the first letter that tells the forms apart. */
const UNIQUE_TEXT_MIN = TAG_HEX + 2;

/**
 * Characters a unique column must hold for its fakes to stay distinct (so the planner can refuse a
 * narrower one), or null for a type that writes one value into every row (`hash`, `fixed`) and so
 * can never fill a unique column. `null` needs nothing: NULLs never collide in a unique index.
 */
export function uniqueFormLength(type: SanitizerType): number | null {
  const houseNumber = String(9899).length;
  switch (type) {
    case 'email':
      // Unchanged form: 'user_' and 20 hex digits (80 bits) survive any truncation to 25 characters.
      return 'user_'.length + 20;
    case 'name':
      // The alternate, 'First X. Last <tag>', is the longer form.
      return longest(FIRST) + ' X. '.length + longest(LAST) + 1 + TAG_HEX;
    case 'phone':
      return '+1-555-'.length + 20;
    case 'address': {
      const street = houseNumber + 1 + longest(STREETS) + 1 + longest(SUFFIXES);
      return Math.max(
        street + ', Unit '.length + TAG_HEX + 2 + longest(CITIES),
        'Suite '.length + TAG_HEX + 2 + street + 2 + longest(CITIES),
      );
    }
    case 'text':
      return UNIQUE_TEXT_MIN;
    case 'null':
      return 0;
    case 'hash':
    case 'fixed':
      return null;
  }
}

/** Primary and alternate fake of a unique column: the short forms' look, with the 64-bit tag. */
function uniqueFakeForms(type: SanitizerType, col: string, h: string): [string, string] {
  switch (type) {
    case 'email':
      return fakeForms(type, col, h);
    case 'name': {
      // 'Mary Smith <tag>' or 'Mary K. Smith <tag>': only the alternate has a '.'.
      const first = elt(num(h, 1), FIRST);
      const last = elt(num(h, 7), LAST);
      return [
        `CONCAT(${first}, ' ', ${last}, ' ', ${tag(h)})`,
        `CONCAT(${first}, ' ', CHAR(65 + MOD(${num(h, 13)}, 26)), '. ', ${last}, ' ', ${tag(h)})`,
      ];
    }
    case 'phone': {
      const digits = tagDigits(h);
      return [`CONCAT('+1-555-', ${digits})`, `CONCAT('+1-556-', ${digits})`];
    }
    case 'address': {
      // '123 Maple Street, Unit <tag>, Springfield' or 'Suite <tag>, 123 Maple Street, Springfield'.
      const street = `CONCAT(1 + MOD(${num(h, 1)}, 9899), ' ', ${elt(num(h, 7), STREETS)}, ' ', ${elt(num(h, 13), SUFFIXES)})`;
      const city = elt(num(h, 19), CITIES);
      return [`CONCAT(${street}, ', Unit ', ${tag(h)}, ', ', ${city})`, `CONCAT('Suite ', ${tag(h)}, ', ', ${street}, ', ', ${city})`];
    }
    case 'text': {
      // '<tag> Lorem ipsum…' or '<tag> Sed ut…', as long as the original but at least UNIQUE_TEXT_MIN.
      const len = `GREATEST(CHAR_LENGTH(${col}), ${UNIQUE_TEXT_MIN})`;
      const body = (filler: string): string =>
        `LEFT(CONCAT(${tag(h)}, ' ', REPEAT(${sqlString(filler)}, 1 + ${len} DIV ${filler.length})), ${len})`;
      return [body(LOREM), body(SED)];
    }
    default:
      throw new Error(`no unique generated form for type ${type}`);
  }
}

/** Primary and alternate fake for a generating type; they always differ from each other. */
function fakeForms(type: SanitizerType, col: string, h: string, unique = false): [string, string] {
  if (unique) return uniqueFakeForms(type, col, h);
  switch (type) {
    case 'email':
      return [`CONCAT('user_', LEFT(${h}, 20), '@example.test')`, `CONCAT('user_', LEFT(${h}, 20), '@example.invalid')`];
    case 'name': {
      const first = elt(num(h, 1), FIRST);
      const last = elt(num(h, 7), LAST);
      return [`CONCAT(${first}, ' ', ${last})`, `CONCAT(${first}, ' ', CHAR(65 + MOD(${num(h, 13)}, 26)), '. ', ${last})`];
    }
    case 'phone': {
      const digits = `LPAD(MOD(${num(h, 1)}, 10000000), 7, '0')`;
      return [`CONCAT('+1-555-', ${digits})`, `CONCAT('+1-556-', ${digits})`];
    }
    case 'address': {
      const primary = `CONCAT(1 + MOD(${num(h, 1)}, 9899), ' ', ${elt(num(h, 7), STREETS)}, ' ', ${elt(num(h, 13), SUFFIXES)}, ', ', ${elt(num(h, 19), CITIES)})`;
      return [primary, `CONCAT('Apt ', 1 + MOD(${num(h, 25)}, 99), ', ', ${primary})`];
    }
    case 'text': {
      // Same length as the original, so layouts look right and the column never overflows.
      const len = `CHAR_LENGTH(${col})`;
      return [
        `LEFT(REPEAT(${sqlString(LOREM)}, 1 + ${len} DIV ${LOREM.length}), ${len})`,
        `LEFT(REPEAT(${sqlString(SED)}, 1 + ${len} DIV ${SED.length}), ${len})`,
      ];
    }
    default:
      throw new Error(`no generated form for type ${type}`);
  }
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

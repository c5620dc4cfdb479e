// The sanitizer's SQL as text: exclude patterns, fake-value expressions, the unique forms and the gate's query.
import { describe, expect, it } from 'vitest';
import { excludeCondition, likePattern } from '../../../src/activities/pull/patterns.ts';
import {
  sanitizeAssignment,
  sanitizedSelectList,
  sanitizeExpression,
  sanitizeStatement,
  SANITIZED_PASSWORD_HASH,
  type SanitizeColumn,
} from '../../../src/activities/pull/sanitize-sql.ts';
import { gateStatement } from '../../../src/activities/pull/gate-sql.ts';
import { uniqueFormLength } from '../../../src/activities/pull/fake-forms.ts';
import { sanitizeRuleSchema } from '../../../src/config/pull-profiles.ts';

const column = (name: string, rule: unknown, maxLength: number | null = 191): SanitizeColumn => ({
  column: name,
  rule: sanitizeRuleSchema.parse(rule),
  maxLength,
});

describe('exclude patterns', () => {
  it.each([
    ['*@yourcompany.com', '%@yourcompany.com'],
    ['first_last@x.com', 'first\\_last@x.com'],
    ['100%*', '100\\%%'],
    ['back\\slash*', 'back\\\\slash%'],
    ["it's*", "it's%"],
  ])('turns %s into the LIKE parameter %s', (pattern, like) => {
    expect(likePattern(pattern)).toBe(like);
  });

  it('becomes parameterised LIKE clauses, never inline text', () => {
    expect(excludeCondition('`email`', ['*@a.com', "x' OR 1=1 --*"])).toEqual({
      sql: '`email` LIKE ? OR `email` LIKE ?',
      params: ['%@a.com', "x' OR 1=1 --%"],
    });
    expect(excludeCondition('`email`', [])).toBeNull();
  });
});

describe('sanitization SQL', () => {
  it('builds one UPDATE … CASE per table with excluded values kept and patterns as parameters', () => {
    const s = sanitizeStatement('_dbferry_tmp_1_a', 'users', [
      column('email', { type: 'email', exclude: ['*@corp.com'], deterministic: true }),
      column('nickname', { type: 'null' }),
    ]);
    expect(s.sql).toMatch(
      /^UPDATE `_dbferry_tmp_1_a`\.`users` SET `email` = CASE WHEN `email` IS NULL OR `email` = '' THEN `email` WHEN `email` LIKE \? THEN `email` ELSE /,
    );
    expect(s.sql).toContain("SHA2(CONCAT(@dbferry_pull_key, '|', LOWER(TRIM(`email`))), 256)");
    expect(s.sql).toContain('`nickname` = CASE  WHEN 1 THEN NULL END');
    expect(s.params).toEqual(['%@corp.com']);
  });

  it('keys random rules with the per-run key and deterministic ones with the profile secret', () => {
    expect(sanitizeAssignment(column('name', { type: 'name' })).sql).toContain('@dbferry_run_key');
    expect(sanitizeAssignment(column('name', { type: 'name', deterministic: true })).sql).toContain('@dbferry_pull_key');
    expect(sanitizeAssignment(column('name', { type: 'name' })).sql).not.toContain('@dbferry_pull_key');
  });

  it('never lets a fake equal the original: a primary form, and an alternate when they coincide', () => {
    for (const type of ['email', 'name', 'phone', 'address', 'text']) {
      const { sql } = sanitizeAssignment(column('c', { type }));
      expect(sql, type).toMatch(/IF\(.* <=> `c`, .*\)/);
    }
  });

  it('truncates fakes to the column width', () => {
    expect(sanitizeAssignment(column('phone', { type: 'phone' }, 12)).sql).toMatch(/ELSE LEFT\(IF\(.*\), 12\) END$/);
  });

  it('passes fixed values and the password hash as parameters', () => {
    expect(sanitizeAssignment(column('note', { type: 'fixed', value: "x'); DROP TABLE t; --" }))).toEqual({
      sql: '`note` = CASE  WHEN 1 THEN ? END',
      params: ["x'); DROP TABLE t; --"],
    });
    expect(sanitizeAssignment(column('password', { type: 'hash' })).params).toEqual([SANITIZED_PASSWORD_HASH]);
  });

  it('selects fake values straight from the source row when sanitization is fused into the copy', () => {
    const list = sanitizedSelectList(
      ['id', 'email', 'note'],
      [column('email', { type: 'email', exclude: ['*@corp.com'] }), column('note', { type: 'fixed', value: 'x' })],
      's',
    );
    expect(list.sql).toMatch(
      /^s\.`id`, CASE WHEN s\.`email` IS NULL OR s\.`email` = '' THEN s\.`email` WHEN s\.`email` LIKE \? THEN s\.`email` ELSE /,
    );
    expect(list.sql).toContain("SHA2(CONCAT(@dbferry_run_key, '|', LOWER(TRIM(s.`email`))), 256)");
    expect(list.sql).toMatch(/, CASE {2}WHEN 1 THEN \? END$/);
    expect(list.params).toEqual(['%@corp.com', 'x']);
    // The same expression as the UPDATE's, so both paths give equal fakes for equal inputs.
    expect(sanitizeExpression(column('email', { type: 'email' }), '`email`').sql).toBe(
      sanitizeAssignment(column('email', { type: 'email' })).sql.replace(/^`email` = /, ''),
    );
  });

  it('refuses identifiers outside the safe alphabet even if they got this far', () => {
    expect(() => sanitizeStatement('ws', 'users`; DROP', [column('email', { type: 'email' })])).toThrow(
      /refusing to quote invalid identifier/,
    );
  });

  it('builds a gate that joins the source by primary key and checks sibling text columns for identity values', () => {
    const { statement, checks } = gateStatement({
      workspace: 'ws',
      source: 'src',
      table: 'users',
      primaryKey: ['id'],
      otherTextColumns: ['login'],
      columns: [column('email', { type: 'email', exclude: ['*@corp.com'] }), column('password', { type: 'hash' })],
    });
    expect(statement.sql).toMatch(/FROM `ws`\.`users` w JOIN `src`\.`users` s ON s\.`id` = w\.`id`$/);
    expect(statement.sql).toContain('w.`email` <=> s.`email`');
    expect(statement.sql).toContain('CAST(w.`login` AS BINARY) = CAST(s.`email` AS BINARY)');
    expect(checks.map((c) => c.label)).toEqual([
      'users.email still holds original values',
      'users.login holds original values of the sanitized column users.email',
      'users.password still holds original values',
    ]);
    expect(statement.params).toEqual(['%@corp.com', '%@corp.com', SANITIZED_PASSWORD_HASH]);
  });

  it('falls back to a value lookup in the whole source column without a primary key', () => {
    const { statement } = gateStatement({
      workspace: 'ws',
      source: 'src',
      table: 'log',
      primaryKey: [],
      otherTextColumns: [],
      columns: [column('ip', { type: 'fixed', value: '0.0.0.0' })],
    });
    expect(statement.sql).toContain('EXISTS (SELECT 1 FROM `src`.`log` s WHERE s.`ip` = w.`ip`)');
    expect(statement.sql).not.toContain('JOIN');
  });
});

describe('sanitization SQL for unique columns', () => {
  const unique = (name: string, rule: unknown, maxLength: number | null = 191): SanitizeColumn => ({
    ...column(name, rule, maxLength),
    unique: true,
  });
  const seed = "SHA2(CONCAT(@dbferry_run_key, '|', `c`), 256)";
  const tag = `SUBSTRING(${seed}, 49, 16)`;

  it('leaves non-unique columns exactly as they were', () => {
    for (const type of ['email', 'name', 'phone', 'address', 'text', 'null', 'hash']) {
      expect(sanitizeAssignment({ ...column('c', { type }), unique: false }), type).toEqual(sanitizeAssignment(column('c', { type })));
    }
  });

  it('keeps the email form, which already carries 80 bits', () => {
    expect(sanitizeAssignment(unique('c', { type: 'email' }))).toEqual(sanitizeAssignment(column('c', { type: 'email' })));
  });

  it('adds 64 bits of the seed to names, phones, addresses and texts, with forms that still differ', () => {
    for (const type of ['name', 'phone', 'address', 'text']) {
      const { sql } = sanitizeAssignment(unique('c', { type }));
      expect(sql, type).not.toBe(sanitizeAssignment(column('c', { type })).sql);
      expect(sql, type).toContain(tag);
      expect(sql, type).toMatch(/IF\(.* <=> `c`, .*\)/);
    }
    const name = sanitizeAssignment(unique('c', { type: 'name' })).sql;
    expect(name).toContain(`' ', ${tag})`);
    expect(name).toContain('CHAR(65 + MOD(CONV(SUBSTRING(' + seed + ", 13, 6), 16, 10), 26)), '. '");
    const phone = sanitizeAssignment(unique('c', { type: 'phone' })).sql;
    expect(phone).toContain(`CONCAT('+1-555-', LPAD(CONV(${tag}, 16, 10), 20, '0'))`);
    expect(phone).toContain(`CONCAT('+1-556-', LPAD(CONV(${tag}, 16, 10), 20, '0'))`);
    const address = sanitizeAssignment(unique('c', { type: 'address' })).sql;
    expect(address).toContain(`', Unit ', ${tag}, ', '`);
    expect(address).toContain(`CONCAT('Suite ', ${tag}, ', '`);
    const text = sanitizeAssignment(unique('c', { type: 'text' })).sql;
    expect(text).toContain(`LEFT(CONCAT(${tag}, ' ', REPEAT('Lorem ipsum`);
    expect(text).toContain(`LEFT(CONCAT(${tag}, ' ', REPEAT('Sed ut`);
    expect(text).toContain('GREATEST(CHAR_LENGTH(`c`), 18)');
  });

  it('keys unique forms like the others, so deterministic fakes match across tables and paths', () => {
    expect(sanitizeAssignment(unique('c', { type: 'name', deterministic: true })).sql).toContain(
      "SHA2(CONCAT(@dbferry_pull_key, '|', `c`), 256)",
    );
    expect(sanitizeExpression(unique('c', { type: 'phone' }), '`c`').sql).toBe(
      sanitizeAssignment(unique('c', { type: 'phone' })).sql.replace(/^`c` = /, ''),
    );
    expect(sanitizedSelectList(['c'], [unique('c', { type: 'address' })], 's').sql).toContain(
      "SHA2(CONCAT(@dbferry_run_key, '|', s.`c`), 256), 49, 16)",
    );
  });

  it('still lets a unique column be nulled, and refuses one value for every row', () => {
    expect(sanitizeAssignment(unique('c', { type: 'null' })).sql).toBe('`c` = CASE  WHEN 1 THEN NULL END');
    expect(() => sanitizeAssignment(unique('c', { type: 'hash' }))).toThrow(/type "hash" cannot fill the unique column c/);
    expect(() => sanitizeAssignment(unique('c', { type: 'fixed', value: 'x' }))).toThrow(/type "fixed" cannot fill the unique column c/);
  });

  it('says how many characters each unique form needs', () => {
    expect(
      Object.fromEntries(
        (['email', 'name', 'phone', 'address', 'text', 'null', 'hash', 'fixed'] as const).map((t) => [t, uniqueFormLength(t)]),
      ),
    ).toEqual({
      email: 25,
      name: 39,
      phone: 27,
      address: 57,
      text: 18,
      null: 0,
      hash: null,
      fixed: null,
    });
  });
});

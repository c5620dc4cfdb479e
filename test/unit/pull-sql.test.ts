import { describe, expect, it } from 'vitest';
import { excludeCondition, likePattern } from '../../src/pull/patterns.ts';
import { gateStatement, sanitizeAssignment, sanitizedSelectList, sanitizeExpression, sanitizeStatement, SANITIZED_PASSWORD_HASH, type SanitizeColumn } from '../../src/pull/sanitize-sql.ts';
import { sanitizeRuleSchema } from '../../src/pull/profile-schema.ts';

const column = (name: string, rule: unknown, maxLength: number | null = 191): SanitizeColumn => ({ column: name, rule: sanitizeRuleSchema.parse(rule), maxLength });

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
    expect(s.sql).toMatch(/^UPDATE `_dbferry_tmp_1_a`\.`users` SET `email` = CASE WHEN `email` IS NULL OR `email` = '' THEN `email` WHEN `email` LIKE \? THEN `email` ELSE /);
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
      sql: '`note` = CASE  WHEN 1 THEN ? END', params: ["x'); DROP TABLE t; --"],
    });
    expect(sanitizeAssignment(column('password', { type: 'hash' })).params).toEqual([SANITIZED_PASSWORD_HASH]);
  });

  it('selects fake values straight from the source row when sanitization is fused into the copy', () => {
    const list = sanitizedSelectList(['id', 'email', 'note'], [
      column('email', { type: 'email', exclude: ['*@corp.com'] }), column('note', { type: 'fixed', value: 'x' }),
    ], 's');
    expect(list.sql).toMatch(/^s\.`id`, CASE WHEN s\.`email` IS NULL OR s\.`email` = '' THEN s\.`email` WHEN s\.`email` LIKE \? THEN s\.`email` ELSE /);
    expect(list.sql).toContain("SHA2(CONCAT(@dbferry_run_key, '|', LOWER(TRIM(s.`email`))), 256)");
    expect(list.sql).toMatch(/, CASE {2}WHEN 1 THEN \? END$/);
    expect(list.params).toEqual(['%@corp.com', 'x']);
    // The same expression as the UPDATE's, so both paths give equal fakes for equal inputs.
    expect(sanitizeExpression(column('email', { type: 'email' }), '`email`').sql).toBe(sanitizeAssignment(column('email', { type: 'email' })).sql.replace(/^`email` = /, ''));
  });

  it('refuses identifiers outside the safe alphabet even if they got this far', () => {
    expect(() => sanitizeStatement('ws', 'users`; DROP', [column('email', { type: 'email' })])).toThrow(/refusing to quote invalid identifier/);
  });

  it('builds a gate that joins the source by primary key and checks sibling text columns for identity values', () => {
    const { statement, checks } = gateStatement({
      workspace: 'ws', source: 'src', table: 'users', primaryKey: ['id'], otherTextColumns: ['login'],
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
    const { statement } = gateStatement({ workspace: 'ws', source: 'src', table: 'log', primaryKey: [], otherTextColumns: [], columns: [column('ip', { type: 'fixed', value: '0.0.0.0' })] });
    expect(statement.sql).toContain('EXISTS (SELECT 1 FROM `src`.`log` s WHERE s.`ip` = w.`ip`)');
    expect(statement.sql).not.toContain('JOIN');
  });
});

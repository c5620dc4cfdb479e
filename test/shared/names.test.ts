import { describe, expect, it } from 'vitest';
import { databaseName, quoteIdentifier } from '../../src/shared/names.ts';
import { startCopyInputSchema } from '../../src/api/copy/schemas.ts';
import { describeIssues } from '../../src/api/trpc.ts';

describe('identifier validation', () => {
  it.each(['app', 'app_2024', 'A$b'])('accepts %s', (name) => expect(databaseName.safeParse(name).success).toBe(true));
  it.each(['', 'a`b', "a'b", 'a"b', 'a;b', 'a b', 'a.b', 'a/b', '../x', 'x'.repeat(65), 'a\0b', 'é'])('refuses %j', (name) =>
    expect(databaseName.safeParse(name).success).toBe(false),
  );
  it('quotes only what validated', () => {
    expect(quoteIdentifier('orders')).toBe('`orders`');
    expect(() => quoteIdentifier('a`; DROP')).toThrow(/invalid identifier/);
  });
  it('names the field of every problem in a copy request', () => {
    const parsed = startCopyInputSchema.safeParse({
      source: { connection: 'x', database: 'a;b' },
      destination: { connection: '', database: 'ok' },
      threads: 0,
    });
    expect(parsed.success).toBe(false);
    const message = describeIssues(parsed.error!.issues);
    expect(message).toContain('source.database: ');
    expect(message).toContain('destination.connection: ');
    expect(message).toContain('threads: ');
  });
});

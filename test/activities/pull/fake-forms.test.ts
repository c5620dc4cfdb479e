// The fake forms as SQL text: two forms per type that always differ, the unique ones carrying the seed's tag.
import { describe, expect, it } from 'vitest';
import { fakeForms, uniqueFormLength } from '../../../src/activities/pull/fake-forms.ts';
import { CITIES, FIRST_NAMES, LAST_NAMES, STREET_SUFFIXES, STREETS } from '../../../src/activities/pull/fake-words.ts';
import type { SanitizerType } from '../../../src/config/pull-profiles.ts';

const generating: SanitizerType[] = ['email', 'name', 'phone', 'address', 'text'];
const TAG = 'SUBSTRING(h, 49, 16)';

describe('fake forms', () => {
  it.each(generating)('gives %s a primary and an alternate form that differ, short and unique', (type) => {
    for (const unique of [false, true]) {
      const [primary, alternate] = fakeForms(type, '`c`', 'h', unique);
      expect(primary).not.toBe(alternate);
    }
  });

  it('puts the 64-bit tag into every unique form but the email one, which carries 80 bits already', () => {
    for (const type of generating.filter((t) => t !== 'email')) {
      for (const form of fakeForms(type, '`c`', 'h', true)) expect(form).toContain(TAG);
    }
    expect(fakeForms('email', '`c`', 'h', true)).toEqual(fakeForms('email', '`c`', 'h'));
  });

  it('has no form for the types that write a value of their own', () => {
    for (const type of ['hash', 'fixed', 'null'] as const) {
      expect(() => fakeForms(type, '`c`', 'h')).toThrow(/no generated form/);
      expect(() => fakeForms(type, '`c`', 'h', true)).toThrow(/no unique generated form/);
    }
  });

  it('draws on word lists without repeats, so every index picks a different word', () => {
    for (const list of [FIRST_NAMES, LAST_NAMES, STREETS, STREET_SUFFIXES, CITIES]) {
      expect(list.length).toBeGreaterThan(1);
      expect(new Set(list).size).toBe(list.length);
    }
  });

  it('sizes a unique name column for the longest first and last names and the tag', () => {
    const longest = (list: string[]): number => Math.max(...list.map((w) => w.length));
    expect(uniqueFormLength('name')).toBe(longest(FIRST_NAMES) + ' X. '.length + longest(LAST_NAMES) + 1 + 16);
  });
});

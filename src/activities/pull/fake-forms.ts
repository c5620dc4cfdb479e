// The SQL of each type's fake values: a primary and an alternate form, short or unique, from a per-row seed.
import type { SanitizerType } from '../../config/pull-profiles.ts';
import { CITIES, FIRST_NAMES, LAST_NAMES, LOREM, SED, STREET_SUFFIXES, STREETS } from './fake-words.ts';

// Every form reads `h`, the row's seed (64 hex digits of SHA2 over the key and the original, see
// sanitize-sql.ts), and `col`, the original. The two forms of a type always differ from each other,
// so whichever differs from the original can replace it.

// The word lists are constants (fake-words.ts), not input; they still go through the string quoter.
const sqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const elt = (index: string, list: readonly string[]): string => `ELT(1 + MOD(${index}, ${list.length}), ${list.map(sqlString).join(', ')})`;

/** A number 0–16777215 from six hex digits of the seed starting at `at` (1-based). */
const num = (h: string, at: number): string => `CONV(SUBSTRING(${h}, ${at}, 6), 16, 10)`;

// Unique forms (columns in a unique index). The short forms (fakeForms) draw on a few dozen bits at most
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
      return longest(FIRST_NAMES) + ' X. '.length + longest(LAST_NAMES) + 1 + TAG_HEX;
    case 'phone':
      return '+1-555-'.length + 20;
    case 'address': {
      const street = houseNumber + 1 + longest(STREETS) + 1 + longest(STREET_SUFFIXES);
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
      const first = elt(num(h, 1), FIRST_NAMES);
      const last = elt(num(h, 7), LAST_NAMES);
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
      const street = `CONCAT(1 + MOD(${num(h, 1)}, 9899), ' ', ${elt(num(h, 7), STREETS)}, ' ', ${elt(num(h, 13), STREET_SUFFIXES)})`;
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
export function fakeForms(type: SanitizerType, col: string, h: string, unique = false): [string, string] {
  if (unique) return uniqueFakeForms(type, col, h);
  switch (type) {
    case 'email':
      return [`CONCAT('user_', LEFT(${h}, 20), '@example.test')`, `CONCAT('user_', LEFT(${h}, 20), '@example.invalid')`];
    case 'name': {
      const first = elt(num(h, 1), FIRST_NAMES);
      const last = elt(num(h, 7), LAST_NAMES);
      return [`CONCAT(${first}, ' ', ${last})`, `CONCAT(${first}, ' ', CHAR(65 + MOD(${num(h, 13)}, 26)), '. ', ${last})`];
    }
    case 'phone': {
      const digits = `LPAD(MOD(${num(h, 1)}, 10000000), 7, '0')`;
      return [`CONCAT('+1-555-', ${digits})`, `CONCAT('+1-556-', ${digits})`];
    }
    case 'address': {
      const primary = `CONCAT(1 + MOD(${num(h, 1)}, 9899), ' ', ${elt(num(h, 7), STREETS)}, ' ', ${elt(num(h, 13), STREET_SUFFIXES)}, ', ', ${elt(num(h, 19), CITIES)})`;
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

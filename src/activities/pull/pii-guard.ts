// The PII guard: a pulled column whose name looks like personal data must have a rule, or be allowed by name.
import type { PullProfile } from '../../config/pull-profiles.ts';

// It judges by name only (whole words, and fragments such as `email` anywhere in a name) and
// errs on the side of asking: the profile's piiAllow lets a column through by name.

/** Whole words (split on `_` and camelCase) that name personal data. */
const PII_WORDS = new Set([
  'email',
  'mail',
  'phone',
  'mobile',
  'telephone',
  'tel',
  'fax',
  'password',
  'passwd',
  'pwd',
  'name',
  'firstname',
  'lastname',
  'fullname',
  'surname',
  'username',
  'address',
  'street',
  'zip',
  'zipcode',
  'postcode',
  'birth',
  'birthday',
  'birthdate',
  'dob',
  'ssn',
  'iban',
  'bic',
  'passport',
  'token',
  'secret',
  'ip',
  'salary',
  'card',
]);
/** Fragments that name personal data wherever they appear (`contactemail`, `homeaddress`). */
const PII_FRAGMENTS = ['email', 'phone', 'password', 'passwd', 'address', 'birth', 'iban', 'ssn'];

/** True when a column name looks like it holds personal data. */
export function looksPersonal(column: string): boolean {
  const lower = column.toLowerCase();
  const words = column
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[_$\d]+/)
    .filter(Boolean);
  return words.some((w) => PII_WORDS.has(w)) || PII_FRAGMENTS.some((f) => lower.includes(f));
}

/** `table.column` for every personal-looking column of `columns` with neither a rule nor an allowance. */
export function findUnruledPii(
  columns: ReadonlyArray<{ table: string; name: string }>,
  profile: Pick<PullProfile, 'sanitize' | 'piiAllow'>,
): string[] {
  const allowed = new Set(profile.piiAllow);
  return columns
    .filter((c) => looksPersonal(c.name))
    .filter((c) => !profile.sanitize[c.table]?.[c.name])
    .filter((c) => !allowed.has(`${c.table}.${c.name}`) && !allowed.has(`*.${c.name}`))
    .map((c) => `${c.table}.${c.name}`);
}

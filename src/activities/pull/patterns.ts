// LIKE parameters built safely: a rule's exclude patterns, and name prefixes for the workspace sweep.

// Exclude patterns (`*@yourcompany.com`) become LIKE parameters: `*` is the only wildcard, and
// LIKE's own `%`, `_` and the escape character are matched literally.

/** `*@corp.com` → `%@corp.com`, with `\`, `%` and `_` escaped for LIKE's default escape character. */
export function likePattern(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

/** `expr LIKE ? OR expr LIKE ?` for a rule's exclude patterns, or null when there are none. */
export function excludeCondition(expr: string, patterns: readonly string[]): { sql: string; params: string[] } | null {
  if (!patterns.length) return null;
  return { sql: patterns.map(() => `${expr} LIKE ?`).join(' OR '), params: patterns.map(likePattern) };
}

/** `prefix%` for LIKE: names starting with `prefix`, its `\`, `%` and `_` matched literally. */
export const likePrefix = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

// The zod schema of sanitized-pull profiles (seed 002): rules, row limits, exclude patterns, delta settings.
import { z } from 'zod';
import { connectionName, databaseName, identifierName } from '../shared/names.ts';
import { SYSTEM_SCHEMAS } from '../shared/copy-rules.ts';

// Pull profiles (seed 002): what a sanitized pull copies, how it anonymizes and how it subsets.
// Every name here is held to the identifier alphabet at parse time and checked again against
// information_schema before any statement runs.

export const sanitizerTypes = ['email', 'name', 'phone', 'text', 'hash', 'null', 'address', 'fixed'] as const;
export type SanitizerType = (typeof sanitizerTypes)[number];

/**
 * An exclude pattern (`*@yourcompany.com`): `*` matches anything. Reaches SQL only as a LIKE
 * parameter with `%`, `_` and `\` escaped, so it can never be more than a literal-plus-wildcard.
 */
export const excludePattern = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .refine((p) => ![...p].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f), 'must not contain control characters')
  .refine((p) => p.replace(/\*/g, '').length > 0, 'would match every value: a pattern needs at least one character besides *');

/** A record keyed by table or column names, whose bad keys are reported with the identifier rule. */
function identifierRecord<V extends z.ZodType>(value: V) {
  return z.record(z.string(), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record)) {
      const parsed = identifierName.safeParse(key);
      if (!parsed.success) ctx.addIssue({ code: 'custom', path: [key], message: parsed.error.issues[0]?.message ?? 'invalid name' });
    }
  });
}

/** One column's rule. */
export const sanitizeRuleSchema = z
  .object({
    type: z.enum(sanitizerTypes),
    exclude: z.array(excludePattern).max(50).default([]),
    /** Keyed by the profile's secret: equal inputs give equal fakes in every table and run. */
    deterministic: z.boolean().default(false),
    /** The value for type `fixed`. */
    value: z.union([z.string().max(1000), z.number(), z.null()]).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.type === 'fixed' && r.value === undefined)
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'type "fixed" needs a value' });
    if (r.type !== 'fixed' && r.value !== undefined)
      ctx.addIssue({ code: 'custom', path: ['value'], message: `only type "fixed" takes a value (this rule is "${r.type}")` });
  });
export type SanitizeRule = z.infer<typeof sanitizeRuleSchema>;

/** A row limit (seed 002 `limits`): keep the first maxRows rows by orderBy, plus what FKs require. */
export const rowLimitSchema = z
  .object({
    maxRows: z.number().int().min(0).max(1_000_000_000),
    orderBy: identifierName.optional(),
    direction: z.enum(['asc', 'desc']).default('desc'),
  })
  .strict();
export type RowLimit = z.infer<typeof rowLimitSchema>;

/** `table.column` or `*.column`: a column the PII guard lets through without a rule. */
const piiAllowEntry = z.string().regex(/^(\*|[A-Za-z0-9_$]{1,64})\.[A-Za-z0-9_$]{1,64}$/, 'must be TABLE.COLUMN or *.COLUMN');

const refSchema = z.object({ connection: connectionName, database: databaseName }).strict();

export const pullProfileSchema = z
  .object({
    source: refSchema,
    destination: refSchema,
    /** Where the temporary workspace is created: a connection to the source's server with CREATE/DROP rights. */
    workspaceConnection: connectionName.optional(),
    /**
     * Seed 002's temp_strategy: `database` (a workspace database of its own, the default) or
     * `tables` (prefixed tables in the source database, for users that may not create databases).
     */
    workspaceStrategy: z.enum(['database', 'tables']).default('database'),
    /** Environment variable holding the deterministic-mode secret (at least 16 characters at run time). */
    secretEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    sanitize: identifierRecord(identifierRecord(sanitizeRuleSchema)).default({}),
    limits: identifierRecord(rowLimitSchema).default({}),
    excludeTables: z.array(identifierName).max(10_000).default([]),
    piiGuard: z.boolean().default(true),
    piiAllow: z.array(piiAllowEntry).max(10_000).default([]),
    threads: z.number().int().min(1).max(64).default(4),
    /** A pull that has not finished after this long is cancelled and its workspace dropped. */
    deadlineMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(240),
    callbackUrl: z.string().max(2048).url('must be an absolute http(s) URL').optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const deterministic = Object.entries(p.sanitize).flatMap(([t, cols]) =>
      Object.entries(cols)
        .filter(([, r]) => r.deterministic)
        .map(([c]) => `${t}.${c}`),
    );
    if (deterministic.length && !p.secretEnv) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretEnv'],
        message: `deterministic rules (${deterministic.slice(0, 3).join(', ')}) need secretEnv, the variable holding their secret`,
      });
    }
    for (const table of p.excludeTables) {
      if (p.sanitize[table])
        ctx.addIssue({ code: 'custom', path: ['sanitize', table], message: `table "${table}" is excluded; a rule on it would never run` });
      if (p.limits[table])
        ctx.addIssue({ code: 'custom', path: ['limits', table], message: `table "${table}" is excluded; a limit on it would never apply` });
    }
  });
export type PullProfile = z.infer<typeof pullProfileSchema>;

/** The `pulls` section of the config file: profiles by name. */
export const pullProfileName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, _ and -');
export const pullsSchema = z.record(pullProfileName, pullProfileSchema).default({});

interface ConfigForPulls {
  connections: Record<string, { host?: string | undefined; port?: number | undefined; socket?: string | undefined; allowWrite: boolean }>;
  pulls?: Record<string, PullProfile>;
}

const serverKey = (c: { host?: string | undefined; port?: number | undefined; socket?: string | undefined }): string =>
  `${c.socket ?? ''}|${c.host ?? ''}|${c.port ?? 3306}`;

/** Cross-field checks: the profile's connections exist, and the workspace lives on the source's server. */
export function checkPullProfiles(cfg: ConfigForPulls, ctx: z.RefinementCtx): void {
  for (const [name, p] of Object.entries(cfg.pulls ?? {})) {
    const path = ['pulls', name];
    for (const key of ['source', 'destination'] as const) {
      if (!Object.hasOwn(cfg.connections, p[key].connection)) {
        ctx.addIssue({ code: 'custom', path: [...path, key, 'connection'], message: `no connection named "${p[key].connection}"` });
      }
      // Never a system schema, either way (the control schema is refused when a pull starts).
      if (SYSTEM_SCHEMAS.includes(p[key].database.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, key, 'database'],
          message: `"${p[key].database}" is a system schema and is never a valid ${key}`,
        });
      }
    }
    if (p.workspaceConnection) {
      const ws = Object.hasOwn(cfg.connections, p.workspaceConnection) ? cfg.connections[p.workspaceConnection] : undefined;
      const src = Object.hasOwn(cfg.connections, p.source.connection) ? cfg.connections[p.source.connection] : undefined;
      if (!ws)
        ctx.addIssue({ code: 'custom', path: [...path, 'workspaceConnection'], message: `no connection named "${p.workspaceConnection}"` });
      else if (src && serverKey(ws) !== serverKey(src)) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'workspaceConnection'],
          message: 'must reach the same server as the source connection (the workspace is filled with INSERT … SELECT from the source)',
        });
      }
    }
  }
}

// What admins send to `grants.*` and `transfers.*`: strict inputs, each refusal naming its field.
import { z } from 'zod';
import { identifierName } from '../../shared/names.ts';
import { allowedHoursProblem, allowlistEntryProblem, APPROVAL_MODES, GRANT_STATUSES } from '../../control/grant-rules.ts';
import { TRANSFER_DIRECTIONS, TRANSFER_STATUSES } from '../../control/transfers.ts';

export const grantNameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . -; at most 64');
const tables = z.array(identifierName).max(1000);
const reason = z.string().trim().min(1, 'give a reason').max(512, 'at most 512 characters');

/** Addresses and CIDR ranges, IPv4 or IPv6. */
const ipAllowlistSchema = z
  .array(z.string().max(64))
  .max(500)
  .superRefine((entries, ctx) => {
    entries.forEach((entry, i) => {
      const problem = allowlistEntryProblem(entry);
      if (problem) ctx.addIssue({ code: 'custom', path: [i], message: problem });
    });
  });

/** `{start: "22:00", end: "06:00", timezone: "Europe/Berlin"}`; a window ending before it starts wraps past midnight. */
const allowedHoursSchema = z
  .object({ start: z.string(), end: z.string(), timezone: z.string().default('UTC') })
  .strict()
  .superRefine((hours, ctx) => {
    const problem = allowedHoursProblem(hours);
    if (problem) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
  });

const isoDate = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date and time (2026-12-31T23:59:59Z)' });
const limit = z.number().int().min(1).max(1_000_000_000_000);

/** The settings shared by create and update (update makes each optional and nullable where it can be cleared). */
const settings = {
  approvalMode: z.enum(APPROVAL_MODES),
  autoApproveTables: tables,
  allowedTables: tables,
  excludedTables: tables,
  maxDownloads: limit.nullable(),
  maxRecordsTotal: limit.nullable(),
  maxRecordsPerRequest: z.number().int().min(1).max(1_000_000),
  rateLimitPerMinute: z.number().int().min(1).max(100_000),
  downloadPassword: z.string().min(8, 'at least 8 characters').max(256).nullable(),
  ipAllowlist: ipAllowlistSchema,
  allowedHours: allowedHoursSchema.nullable(),
  expiresAt: isoDate.nullable(),
};

export const createGrantInputSchema = z
  .object({
    name: grantNameSchema,
    /** The receiving site (checked like a callback URL: http(s), no credentials, no private network unless allowed). */
    siteUrl: z.string().max(2048),
    /** The pull profile the grant serves: its sanitization always runs here, so a grant never serves raw rows. */
    profile: z.string().max(64),
    approvalMode: settings.approvalMode.default('auto_approve'),
    autoApproveTables: tables.default([]),
    allowedTables: tables.default([]),
    excludedTables: tables.default([]),
    maxDownloads: settings.maxDownloads.default(null),
    maxRecordsTotal: settings.maxRecordsTotal.default(null),
    maxRecordsPerRequest: settings.maxRecordsPerRequest.default(10_000),
    rateLimitPerMinute: settings.rateLimitPerMinute.default(60),
    downloadPassword: settings.downloadPassword.default(null),
    ipAllowlist: ipAllowlistSchema.default([]),
    allowedHours: settings.allowedHours.default(null),
    expiresAt: settings.expiresAt.default(null),
  })
  .strict();
export type CreateGrantInput = z.infer<typeof createGrantInputSchema>;

export const updateGrantInputSchema = z
  .object({
    name: grantNameSchema,
    siteUrl: z.string().max(2048).optional(),
    approvalMode: settings.approvalMode.optional(),
    autoApproveTables: tables.optional(),
    allowedTables: tables.optional(),
    excludedTables: tables.optional(),
    maxDownloads: settings.maxDownloads.optional(),
    maxRecordsTotal: settings.maxRecordsTotal.optional(),
    maxRecordsPerRequest: settings.maxRecordsPerRequest.optional(),
    rateLimitPerMinute: settings.rateLimitPerMinute.optional(),
    downloadPassword: settings.downloadPassword.optional(),
    ipAllowlist: ipAllowlistSchema.optional(),
    allowedHours: settings.allowedHours.optional(),
    expiresAt: settings.expiresAt.optional(),
  })
  .strict();
export type UpdateGrantInput = z.infer<typeof updateGrantInputSchema>;

export const grantRefSchema = z.object({ name: grantNameSchema }).strict();
export const grantDecisionSchema = z.object({ name: grantNameSchema, reason: reason.optional() }).strict();
export const grantReasonSchema = z.object({ name: grantNameSchema, reason }).strict();
export const listGrantsInputSchema = z
  .object({ status: z.enum(GRANT_STATUSES).optional(), profile: z.string().max(64).optional() })
  .strict()
  .default({});
export const grantStatsInputSchema = z.object({ name: grantNameSchema.optional() }).strict().default({});

export const listTransfersInputSchema = z
  .object({
    grant: grantNameSchema.optional(),
    status: z.enum(TRANSFER_STATUSES).optional(),
    direction: z.enum(TRANSFER_DIRECTIONS).optional(),
    table: identifierName.optional(),
    since: isoDate.optional(),
    before: z.number().int().min(1).optional(),
    limit: z.number().int().min(1).max(500).default(100),
  })
  .strict()
  .default({ limit: 100 });
export type ListTransfersInput = z.infer<typeof listTransfersInputSchema>;

export const transferApproveSchema = z.object({ id: z.number().int().min(1), reason: reason.optional() }).strict();
export const transferDenySchema = z.object({ id: z.number().int().min(1), reason }).strict();

// The config file's `api` section (listen address and the API's limits) and `restoreRoots`.
import { isAbsolute, normalize } from 'node:path';
import { z } from 'zod';

/** The limits' defaults: generous for people and scripts, low enough to stop a flood. */
export const API_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  /** Per token (per client address without one): 1200 requests a minute, 300 at once. */
  rateLimit: { perMinute: 1200, burst: 300 },
  /** The largest tRPC request body (REST bodies are held to 64 KiB). */
  maxBodyBytes: 1024 * 1024,
  /** The most calls one tRPC batch may carry (the client splits larger batches). */
  maxBatchSize: 50,
  /** Live progress subscriptions: at most 10 open per user, each ending after an hour. */
  subscriptions: { perUser: 10, maxDurationSeconds: 3600 },
} as const;

export const apiSchema = z
  .object({
    host: z.string().default(API_DEFAULTS.host),
    port: z.number().int().min(0).max(65535).default(API_DEFAULTS.port),
    rateLimit: z
      .object({
        perMinute: z.number().int().min(1).max(1_000_000),
        burst: z.number().int().min(1).max(1_000_000),
      })
      .strict()
      .default({ ...API_DEFAULTS.rateLimit }),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(API_DEFAULTS.maxBodyBytes),
    maxBatchSize: z.number().int().min(1).max(1000).default(API_DEFAULTS.maxBatchSize),
    subscriptions: z
      .object({
        perUser: z.number().int().min(1).max(10_000),
        maxDurationSeconds: z.number().int().min(1).max(86_400),
      })
      .strict()
      .default({ ...API_DEFAULTS.subscriptions }),
  })
  .strict()
  .default({
    host: API_DEFAULTS.host,
    port: API_DEFAULTS.port,
    rateLimit: { ...API_DEFAULTS.rateLimit },
    maxBodyBytes: API_DEFAULTS.maxBodyBytes,
    maxBatchSize: API_DEFAULTS.maxBatchSize,
    subscriptions: { ...API_DEFAULTS.subscriptions },
  });

/**
 * The directories folder restores (a physical chain delivered as a datadir) may write into; none
 * by default, which refuses every folder restore. Relative paths are relative to the config file.
 */
export const restoreRootsSchema = z
  .array(
    z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => !p.includes('\0'), 'must not contain NUL')
      .refine((p) => !isAbsolute(p) || normalize(p).replace(/\/+$/, '') !== '', 'must not be / (name a directory for restores)'),
  )
  .max(100)
  .default([]);

// The zod schema of the config file: connections, targets, control schema, pulls, work dir, API and webhooks.
import { z } from 'zod';
import { connectionName, databaseName } from '../shared/names.ts';
import { targetName, targetSchema } from './targets.ts';
import { checkPullProfiles, pullsSchema } from './pull-profiles.ts';
import { apiSchema, restoreRootsSchema } from './api.ts';
import { accessSchema, checkAccess } from './access.ts';

/** One MySQL/MariaDB server dbferry may read from, and write to only when `allowWrite` says so. */
export const connectionSchema = z
  .object({
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    socket: z.string().min(1).optional(),
    user: z.string().min(1).max(80),
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    passwordFile: z.string().min(1).optional(),
    flavor: z.enum(['mariadb', 'mysql']).default('mariadb'),
    allowWrite: z.boolean().default(false),
    /** The server's datadir as the worker sees it (physical backups; default: the server's @@datadir). */
    datadir: z.string().min(1).optional(),
    tls: z
      .object({
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.host && !c.socket) ctx.addIssue({ code: 'custom', path: ['host'], message: 'either host or socket is required' });
    if (c.host && c.socket) ctx.addIssue({ code: 'custom', path: ['socket'], message: 'give host or socket, not both' });
    if (c.passwordEnv && c.passwordFile)
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give passwordEnv or passwordFile, not both' });
  });

export const configSchema = z
  .object({
    connections: z.record(connectionName, connectionSchema).refine((c) => Object.keys(c).length > 0, 'at least one connection is required'),
    control: z
      .object({
        connection: connectionName,
        database: databaseName.default('dbferry_control'),
      })
      .strict(),
    workDir: z.string().min(1).default('.dbferry/work'),
    taskQueue: z.string().min(1).max(200).default('dbferry'),
    /** Listen address and the API's limits (rate, body size, batch size, progress subscriptions). */
    api: apiSchema,
    /** Where folder restores may write (none: folder restores are refused). */
    restoreRoots: restoreRootsSchema,
    webhooks: z
      .object({
        allowPrivateNetworks: z.boolean().default(false),
        timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
      })
      .strict()
      .default({ allowPrivateNetworks: false, timeoutMs: 10_000 }),
    /** Run caps, checked when a run starts (429 over a cap): see src/api/runs/caps.ts. */
    limits: z
      .object({
        runsPerUser: z.number().int().min(1).max(10_000).default(10),
        runsPerSource: z.number().int().min(1).max(10_000).default(8),
        threadsPerSourceServer: z.number().int().min(1).max(100_000).default(32),
      })
      .strict()
      .default({ runsPerUser: 10, runsPerSource: 8, threadsPerSourceServer: 32 }),
    /**
     * The worker's concurrency, sized to the tools: most activities run one native tool (mydumper,
     * myloader, mysqldump, mariabackup) with its threads, so a worker takes a few at a time rather
     * than the SDK's 100; the rest are short checks, cleanups and webhook deliveries.
     */
    worker: z
      .object({
        maxConcurrentActivities: z.number().int().min(1).max(1000).default(16),
        maxConcurrentWorkflowTasks: z.number().int().min(1).max(1000).default(40),
      })
      .strict()
      .default({ maxConcurrentActivities: 16, maxConcurrentWorkflowTasks: 40 }),
    targets: z.record(targetName, targetSchema).default({}),
    pulls: pullsSchema,
    access: accessSchema,
  })
  .strict()
  .superRefine((cfg, ctx) => {
    checkPullProfiles(cfg, ctx);
    checkAccess(cfg, ctx);
    if (!cfg.connections[cfg.control.connection]) {
      ctx.addIssue({ code: 'custom', path: ['control', 'connection'], message: `no connection named "${cfg.control.connection}"` });
    }
  });

export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type DbferryConfig = z.infer<typeof configSchema>;

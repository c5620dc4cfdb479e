// The typed tRPC client other services use to call dbferry.
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from './api/router.ts';

export type { AppRouter } from './api/router.ts';
export type { CopyView } from './api/copy/service.ts';
export type { BackupView, BackupPage, BackupDownload } from './api/backup/service.ts';
export type { ScheduleView } from './api/backup/schedule-view.ts';
export type { RestoreView } from './api/backup/restore-service.ts';
export type { PhysicalBackupView, ChainRestoreView } from './api/physical/service.ts';
export type { PullView } from './api/pull/service.ts';
export type { StartedRun } from './api/runs/run-service.ts';

/** A typed dbferry client for other services: `client.copies.start.mutate({...})`. */
export function createDbferryClient({ url, token }: { url: string; token: string }) {
  const base = `${url.replace(/\/$/, '')}/trpc`;
  const authorization = `Bearer ${token}`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // Server-sent events; the eventsource package lets us send the bearer header on Node.
        true: httpSubscriptionLink({
          url: base,
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input: string | URL | Request, init?: RequestInit) =>
              fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization } }),
          }),
        }),
        // The API refuses a batch of more than api.maxBatchSize calls (50 by default): larger ones go as several requests.
        false: httpBatchLink({ url: base, headers: { authorization }, maxItems: 50 }),
      }),
    ],
  });
}

export type DbferryClient = ReturnType<typeof createDbferryClient>;

// The backup log: every backup a user may see, merged from the targets' manifests (the backups
// that exist) and Temporal (the runs that are going on, failed or were cancelled). Filtered and
// paged here; nothing is stored besides what Temporal and the bucket already hold.
import type { Client } from '@temporalio/client';
import { newestFirst, readCatalog, ManifestCache, type Catalog } from '../../activities/catalog/catalog.ts';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { BackupManifest } from '../../workflows/backup/contracts.ts';
import type { ListBackupsInput } from './schemas.ts';
import { searchAttributes } from '../../shared/temporal.ts';
import type { ApiDeps } from '../deps.ts';
import {
  decodeCursor,
  encodeCursor,
  logOrder,
  scheduleIdOf,
  viewFromExecution,
  viewFromManifest,
  type BackupExecution,
  type BackupView,
} from './view.ts';
import { ApiError } from '../errors.ts';
import { parseScheduleId } from './schedule-service.ts';

export const BACKUP_KIND = 'backup';
// Bounds the Temporal scan of one list call; older failures drop off the log first.
const MAX_EXECUTIONS = 2000;
// A run this recent may not be in Temporal's visibility store yet: read it directly.
const FRESH_MS = 10 * 60_000;

export interface BackupPage {
  items: BackupView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** Targets that could not be listed and manifests that could not be read: the page may be incomplete. */
  problems: Array<{ target: string; key: string | null; message: string }>;
}

/** A safe Temporal query literal (every value here has passed a strict alphabet first). */
const literal = (value: string): string => `'${value.replace(/[\\']/g, '')}'`;
const SAFE_USER = /^[A-Za-z0-9_.@-]{1,64}$/;

/** Reads the catalog of each target through one cache per target (manifests never change). */
export class Catalogs {
  readonly #caches = new Map<string, ManifestCache>();
  constructor(private readonly deps: ApiDeps) {}

  async read(target: string): Promise<Catalog> {
    let cache = this.#caches.get(target);
    if (!cache) this.#caches.set(target, (cache = new ManifestCache()));
    return readCatalog(this.deps.stores.get(target), cache);
  }

  /** Every configured target's catalog; a target that cannot be listed becomes a problem, not a failure. */
  async readAll(
    only?: string,
  ): Promise<{ entries: Array<{ target: string; manifest: BackupManifest }>; problems: BackupPage['problems'] }> {
    const names = only ? [only] : Object.keys(this.deps.config.targets);
    const entries: Array<{ target: string; manifest: BackupManifest }> = [];
    const problems: BackupPage['problems'] = [];
    await Promise.all(
      names.map(async (target) => {
        try {
          const catalog = await this.read(target);
          for (const manifest of catalog.manifests) entries.push({ target, manifest });
          for (const p of catalog.problems) problems.push({ target, key: p.key, message: p.message });
        } catch (error) {
          problems.push({ target, key: null, message: `cannot list the target: ${(error as Error).message}` });
        }
      }),
    );
    entries.sort((a, b) => newestFirst(a.manifest, b.manifest));
    return { entries, problems };
  }
}

/** True when the user may see this backup: the owner of its schedule, or whoever triggered it. */
export function ownsScheduled(user: AuthenticatedUser, scheduleId: string | null): boolean {
  return scheduleId !== null && parseScheduleId(scheduleId)?.userId === user.id;
}

/** The executions of backups this user may have started, newest first, at most MAX_EXECUTIONS. */
export async function* backupExecutions(
  temporal: Client,
  user: AuthenticatedUser,
  filter: Partial<ListBackupsInput> = {},
  extra = '',
): AsyncGenerator<BackupExecution> {
  const clauses = [`${searchAttributes.kind.name} = ${literal(BACKUP_KIND)}`];
  if (SAFE_USER.test(user.name)) clauses.push(`${searchAttributes.requestedBy.name} = ${literal(user.name)}`);
  if (filter.source?.database)
    clauses.push(`${searchAttributes.source.name} = ${literal(`${filter.source.connection}/${filter.source.database}`)}`);
  if (filter.target) clauses.push(`${searchAttributes.destination.name} = ${literal(filter.target)}`);
  if (filter.from) clauses.push(`StartTime >= ${literal(new Date(filter.from).toISOString())}`);
  if (filter.to) clauses.push(`StartTime <= ${literal(new Date(filter.to).toISOString())}`);
  if (extra) clauses.push(extra);
  let seen = 0;
  for await (const execution of temporal.workflow.list({ query: clauses.join(' AND ') })) {
    yield execution;
    if (++seen >= MAX_EXECUTIONS) return;
  }
}

/** The backup log page for `filter`, newest first. */
export async function listBackups(
  deps: ApiDeps,
  catalogs: Catalogs,
  user: AuthenticatedUser,
  filter: ListBackupsInput,
): Promise<BackupPage> {
  const after = filter.cursor ? decodeCursor(filter.cursor) : null;
  if (filter.cursor && !after) throw new ApiError('BAD_REQUEST', 'must be a cursor returned by a previous page', 'cursor');
  const from = filter.from ? Date.parse(filter.from) : -Infinity;
  const to = filter.to ? Date.parse(filter.to) : Infinity;
  const matches = (v: BackupView): boolean => {
    const at = Date.parse(v.startedAt ?? '');
    return (
      (!filter.source ||
        (v.source.connection === filter.source.connection && (!filter.source.database || v.source.database === filter.source.database))) &&
      (!filter.target || v.target === filter.target) &&
      (!filter.status || v.status === filter.status) &&
      !(at < from || at > to) &&
      (!after || logOrder(after, v) < 0)
    );
  };

  const views = new Map<string, BackupView>();
  const problems: BackupPage['problems'] = [];
  if (!filter.status || filter.status === 'succeeded') {
    const catalog = await catalogs.readAll(filter.target);
    problems.push(...catalog.problems);
    const onDemand = catalog.entries.filter((e) => !e.manifest.scheduleId).map((e) => e.manifest.id);
    const owned = await deps.runs.ownedIds(user.id, BACKUP_KIND, onDemand);
    for (const { target, manifest } of catalog.entries) {
      if (!(manifest.scheduleId ? ownsScheduled(user, manifest.scheduleId) : owned.has(manifest.id))) continue;
      const view = viewFromManifest(manifest, target);
      if (matches(view) && !views.has(view.id)) views.set(view.id, view);
    }
  }
  if (filter.status !== 'succeeded') {
    for (const view of await runViews(deps, user, filter)) {
      // A succeeded run is shown through its manifest; without one it no longer exists.
      if (view.status !== 'succeeded' && matches(view) && !views.has(view.id)) views.set(view.id, view);
    }
  }
  const sorted = [...views.values()].sort(logOrder);
  const items = sorted.slice(0, filter.limit);
  return { items, nextCursor: sorted.length > filter.limit ? encodeCursor(items.at(-1)!) : null, problems };
}

/** Views of this user's runs from Temporal, plus very recent on-demand runs visibility may not show yet. */
async function runViews(deps: ApiDeps, user: AuthenticatedUser, filter: ListBackupsInput): Promise<BackupView[]> {
  const executions: BackupExecution[] = [];
  for await (const e of backupExecutions(deps.temporal, user, filter)) executions.push(e);
  const onDemandIds = executions.filter((e) => !scheduleIdOf(e)).map((e) => viewFromExecution(e).id);
  const recent = (await deps.runs.listOwned(user.id, BACKUP_KIND, 20)).filter((r) => Date.now() - Date.parse(r.createdAt) < FRESH_MS);
  const owned = await deps.runs.ownedIds(user.id, BACKUP_KIND, onDemandIds);
  const views = executions
    .filter((e) => (scheduleIdOf(e) ? ownsScheduled(user, scheduleIdOf(e)) : owned.has(viewFromExecution(e).id)))
    .map(viewFromExecution);
  const listed = new Set(views.map((v) => v.id));
  for (const record of recent) {
    if (listed.has(record.id) || !record.runId) continue;
    views.push(viewFromExecution(await deps.temporal.workflow.getHandle(record.workflowId, record.runId).describe()));
  }
  return views;
}

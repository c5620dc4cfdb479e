// Pull grants and their transfers, managed by admins (tRPC `grants.*`, `transfers.*`): create (the
// token shown once), settings, the lifecycle (approve, suspend, reactivate, revoke, each with who,
// when and why), token regeneration, stats, and the expiry schedule. Every change is audited; no
// audit entry, log line or error holds a token, a hash, a password or the site URL.
import { EnsuredSchedule } from '../runs/sweep-schedule.ts';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import {
  GrantExistsError,
  GrantStore,
  GRANT_TRANSITIONS,
  rulesOf,
  type GrantPatch,
  type GrantTransition,
  type GrantView,
} from '../../control/grants.ts';
import { TransferStore, type TransferStats, type TransferView } from '../../control/transfers.ts';
import { expiryReason } from '../../control/grant-rules.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import type { CreateGrantInput, ListTransfersInput, UpdateGrantInput } from './schemas.ts';

/** The expiry sweep's schedule id: one per task queue (the workers that reach the control schema). */
export const grantExpiryScheduleId = (taskQueue: string): string => `grant-expiry:${taskQueue}`;

/** A grant and its token, shown this once. */
export interface GrantWithToken {
  grant: GrantView;
  token: string;
}

const PAST_TENSE: Record<GrantTransition, string> = {
  approve: 'approved',
  suspend: 'suspended',
  reactivate: 'reactivated',
  revoke: 'revoked',
};

export class GrantService {
  readonly grants: GrantStore;
  readonly transfers: TransferStore;
  #schedule: EnsuredSchedule | null = null;
  constructor(private readonly deps: ApiDeps) {
    this.grants = new GrantStore(deps.controlPool, deps.config.control.database);
    this.transfers = new TransferStore(deps.controlPool, deps.config.control.database);
  }

  /** Only admins manage grants (the router's domain refuses others too; this holds for any caller). */
  private admin(user: AuthenticatedUser, what: string): void {
    if (user.role !== 'admin') throw new ApiError('FORBIDDEN', `${what} is for admins; ${user.name} is not one`);
  }

  private audit(actor: AuthenticatedUser, action: string, grant: Pick<GrantView, 'name' | 'profile' | 'status'>, detail?: object) {
    return this.deps.access.record({
      actor: actor.name,
      actorUserId: actor.id,
      action,
      resource: `grant ${grant.name}`,
      detail: { profile: grant.profile, status: grant.status, ...detail },
    });
  }

  private async grant(name: string): Promise<GrantView> {
    const grant = await this.grants.get(name);
    if (!grant) throw new ApiError('NOT_FOUND', `no grant named "${name}"`, 'name');
    return grant;
  }

  private checkProfile(profile: string): void {
    if (!Object.hasOwn(this.deps.config.pulls, profile)) {
      const known = Object.keys(this.deps.config.pulls);
      throw new ApiError(
        'BAD_REQUEST',
        `no pull profile named "${profile}" in the config${known.length ? ` (there are ${known.join(', ')})` : ' (the config has no "pulls")'}`,
        'profile',
      );
    }
  }

  private checkSiteUrl(url: string): Promise<void> {
    return checkCallbackUrl(url, this.deps.config.webhooks.allowPrivateNetworks, 'siteUrl');
  }

  private static checkExpiry(expiresAt: string | null | undefined): Date | null | undefined {
    if (expiresAt === undefined || expiresAt === null) return expiresAt;
    const date = new Date(expiresAt);
    if (date.getTime() <= Date.now()) throw new ApiError('BAD_REQUEST', 'must be in the future', 'expiresAt');
    return date;
  }

  async create(actor: AuthenticatedUser, input: CreateGrantInput): Promise<GrantWithToken> {
    this.admin(actor, 'grants.create');
    this.checkProfile(input.profile);
    await this.checkSiteUrl(input.siteUrl);
    const expiresAt = GrantService.checkExpiry(input.expiresAt) ?? null;
    let created: GrantWithToken;
    try {
      created = await this.grants.create({ ...input, expiresAt }, actor.name);
    } catch (error) {
      if (error instanceof GrantExistsError) throw new ApiError('CONFLICT', error.message, 'name');
      throw error;
    }
    await this.audit(actor, 'grant.create', created.grant, { approvalMode: input.approvalMode });
    await this.ensureExpirySchedule().catch((e: Error) => console.error(`grant expiry schedule: ${e.message}`));
    return created;
  }

  list(actor: AuthenticatedUser, filter: { status?: GrantView['status'] | undefined; profile?: string | undefined }): Promise<GrantView[]> {
    this.admin(actor, 'grants.list');
    return this.grants.list(filter);
  }

  async get(actor: AuthenticatedUser, name: string): Promise<GrantView> {
    this.admin(actor, 'grants.get');
    return this.grant(name);
  }

  async update(actor: AuthenticatedUser, input: UpdateGrantInput): Promise<GrantView> {
    this.admin(actor, 'grants.update');
    const before = await this.grant(input.name);
    if (before.status === 'revoked') throw new ApiError('CONFLICT', `grant "${before.name}" is revoked; create a new one`, 'name');
    const { name, expiresAt, siteUrl, ...rest } = input;
    if (siteUrl !== undefined) await this.checkSiteUrl(siteUrl);
    const patch: GrantPatch = { ...rest };
    if (siteUrl !== undefined) patch.siteUrl = siteUrl;
    const expiry = GrantService.checkExpiry(expiresAt);
    if (expiry !== undefined) patch.expiresAt = expiry;
    const changed = Object.keys(input).filter((k) => k !== 'name');
    const after = (await this.grants.update(name, patch))!;
    // The names of what changed, never the values (a password, the site URL).
    if (changed.length) await this.audit(actor, 'grant.update', after, { changedFields: changed });
    return after;
  }

  /** approve, suspend, reactivate or revoke, with who, when and (suspend, revoke) why. */
  async transition(actor: AuthenticatedUser, step: GrantTransition, name: string, reason?: string): Promise<GrantView> {
    this.admin(actor, `grants.${step}`);
    const before = await this.grant(name);
    const t = GRANT_TRANSITIONS[step];
    if (!(t.from as readonly string[]).includes(before.status)) {
      throw new ApiError(
        'CONFLICT',
        `grant "${name}" is ${before.status}; only a ${t.from.join(' or ')} grant can be ${PAST_TENSE[step]}`,
        'name',
      );
    }
    if (step === 'reactivate') {
      // A grant past its date or limits would expire again at once: raise them first.
      const why = expiryReason(rulesOf(before, null), new Date());
      if (why) throw new ApiError('CONFLICT', `grant "${name}" is past its limits (${why}); raise them with grants.update first`, 'name');
    }
    const after = await this.grants.transition(name, step, actor.name, reason ?? null);
    if (!after) throw new ApiError('CONFLICT', `grant "${name}" changed meanwhile; read it again`, 'name');
    await this.audit(actor, `grant.${step}`, after, { from: before.status, ...(reason ? { reason } : {}) });
    return after;
  }

  async regenerateToken(actor: AuthenticatedUser, name: string): Promise<GrantWithToken> {
    this.admin(actor, 'grants.regenerateToken');
    const before = await this.grant(name);
    const regenerated = await this.grants.regenerateToken(name);
    if (!regenerated) throw new ApiError('CONFLICT', `grant "${name}" is ${before.status}; a revoked grant keeps no token`, 'name');
    await this.audit(actor, 'grant.token_regenerate', regenerated.grant);
    return regenerated;
  }

  async delete(actor: AuthenticatedUser, name: string): Promise<{ deleted: string }> {
    this.admin(actor, 'grants.delete');
    const grant = await this.grant(name);
    await this.grants.delete(name);
    await this.audit(actor, 'grant.delete', grant);
    return { deleted: name };
  }

  /** Transfers in total and per table: one grant's, or every grant's. */
  async stats(actor: AuthenticatedUser, name?: string): Promise<TransferStats & { grant: string | null }> {
    this.admin(actor, 'grants.stats');
    const grant = name === undefined ? null : await this.grant(name);
    return { grant: grant?.name ?? null, ...(await this.transfers.stats(grant?.id)) };
  }

  async listTransfers(actor: AuthenticatedUser, input: ListTransfersInput): Promise<TransferView[]> {
    this.admin(actor, 'transfers.list');
    let grantId: number | undefined;
    if (input.grant !== undefined) {
      const grant = await this.grants.get(input.grant);
      if (!grant) throw new ApiError('NOT_FOUND', `no grant named "${input.grant}"`, 'grant');
      grantId = grant.id;
    }
    return this.transfers.list({
      grantId,
      status: input.status,
      direction: input.direction,
      table: input.table,
      since: input.since ? new Date(input.since) : undefined,
      before: input.before,
      limit: input.limit,
    });
  }

  /** An admin's answer to a transfer waiting for approval (the serving side waits on it). */
  async decideTransfer(actor: AuthenticatedUser, id: number, decision: 'approved' | 'denied', reason?: string): Promise<TransferView> {
    this.admin(actor, decision === 'approved' ? 'transfers.approve' : 'transfers.deny');
    const before = await this.transfers.get(id);
    if (!before) throw new ApiError('NOT_FOUND', `no transfer with id ${id}`, 'id');
    const after = await this.transfers.decide(id, decision, actor.name, reason ?? null);
    if (!after) throw new ApiError('CONFLICT', `transfer ${id} is ${before.status}, not waiting for approval`, 'id');
    await this.deps.access.record({
      actor: actor.name,
      actorUserId: actor.id,
      action: decision === 'approved' ? 'transfer.approve' : 'transfer.deny',
      resource: `transfer ${id}`,
      detail: { grant: after.grant, table: after.table, direction: after.direction, ...(reason ? { reason } : {}) },
    });
    return after;
  }

  /** Creates the expiry sweep's schedule once (every 5 minutes: grants past their date or limits become `expired`). */
  ensureExpirySchedule(): Promise<void> {
    const { taskQueue } = this.deps.config;
    this.#schedule ??= new EnsuredSchedule(this.deps.temporal, {
      scheduleId: grantExpiryScheduleId(taskQueue),
      every: '5 minutes',
      workflowType: 'expireGrants',
      workflowId: `grant-expiry:scheduled:${taskQueue}`,
      taskQueue,
      args: [],
    });
    return this.#schedule.ensure();
  }
}

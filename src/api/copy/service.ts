// Starting, reading, listing and cancelling copies: the logic behind both tRPC and REST.
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RunRecord } from '../../control/runs.ts';
import type { CopyState, CopyStatus, TableCount } from '../../workflows/copy/contracts.ts';
import type { copyDatabase } from '../../workflows/copy/copy-database.ts';
import { runNeeds } from '../../control/run-needs.ts';
import { findCopyRequestProblem, findSameServerProblem } from '../../shared/copy-rules.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { serverDestinationLock } from '../runs/locks.ts';
import { RunService, type RunKind, type StartedRun } from '../runs/run-service.ts';
import type { StartCopyInput } from './schemas.ts';

/** A copy as the API shows it: the seed's fields plus phase and per-table counts. */
export interface CopyView {
  id: string;
  status: CopyStatus;
  phase: CopyState['phase'];
  progress: number;
  sourceConnection: string;
  sourceDb: string;
  destConnection: string;
  destDb: string;
  callbackUrl: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  createdByUserId: number;
  createdAt: string;
  updatedAt: string;
  tables: TableCount[];
}

const copies: RunKind<CopyState, CopyView> = {
  kind: 'copy',
  noun: 'copy',
  queued: (record) => ({
    id: record.id,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    tables: [],
  }),
  view(record: RunRecord, state: CopyState): CopyView {
    const request = record.request as StartCopyInput;
    return {
      id: record.id,
      status: state.status,
      phase: state.phase,
      progress: state.progress,
      sourceConnection: request.source.connection,
      sourceDb: request.source.database,
      destConnection: request.destination.connection,
      destDb: request.destination.database,
      callbackUrl: record.callbackUrl,
      startedAt: state.startedAt,
      finishedAt: state.finishedAt,
      lastError: state.lastError,
      createdByUserId: record.createdByUserId,
      createdAt: record.createdAt,
      updatedAt: state.updatedAt ?? record.createdAt,
      tables: state.tables,
    };
  },
};

export class CopyService {
  readonly #runs: RunService<CopyState, CopyView>;
  constructor(private readonly deps: ApiDeps) {
    this.#runs = new RunService(deps, copies);
  }

  /** Checks the request, then starts copyDatabase under the destination's lock. */
  async start(user: AuthenticatedUser, input: StartCopyInput): Promise<StartedRun> {
    const servers = this.deps.servers;
    const problem =
      findCopyRequestProblem(this.deps.config, input) ??
      (await findSameServerProblem(this.deps.config, (a, b) => servers.same(a, b), input));
    if (problem) throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', problem.message, problem.field);
    const lock = await serverDestinationLock(servers, input.destination);
    if (input.callbackUrl) await checkCallbackUrl(input.callbackUrl, this.deps.config.webhooks.allowPrivateNetworks, 'callbackUrl');
    const callbackUrl = input.callbackUrl ?? null;
    return this.#runs.start<typeof copyDatabase>(user, {
      workflowType: 'copyDatabase',
      needs: runNeeds({ workflow: 'copyDatabase', source: input.source, destination: input.destination }),
      lock,
      request: input,
      callbackUrl,
      args: (copyId) => [
        {
          copyId,
          source: input.source,
          destination: input.destination,
          threads: input.threads,
          recreateDestination: input.recreateDestination,
          callbackUrl,
          requestedBy: user.name,
        },
      ],
      attributes: {
        source: `${input.source.connection}/${input.source.database}`,
        destination: `${input.destination.connection}/${input.destination.database}`,
      },
      source: { connection: input.source.connection, threads: input.threads },
    });
  }

  /** The copy if this user created it; anyone else gets NOT_FOUND. */
  get(user: AuthenticatedUser, id: string): Promise<CopyView> {
    return this.#runs.get(user, id);
  }

  list(user: AuthenticatedUser, limit: number, before?: string): Promise<CopyView[]> {
    return this.#runs.list(user, limit, before);
  }

  /** Requests cancellation; the workflow kills the tools, drops what it created and ends `cancelled`. */
  cancel(user: AuthenticatedUser, id: string): Promise<CopyView> {
    return this.#runs.cancel(user, id);
  }
}

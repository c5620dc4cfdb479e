// Copy contracts shared by the API, the activities and the workflow (which must stay free of zod).
/** Where a copy reads from or writes to: a configured connection and a database on it. */
export interface DatabaseRef {
  connection: string;
  database: string;
}

export const copyStatuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type CopyStatus = (typeof copyStatuses)[number];
export const isFinalStatus = (s: CopyStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export type CopyPhase = 'queued' | 'validating' | 'dumping' | 'loading' | 'verifying' | 'cleaning-up' | 'done';

/** The workflow's input: names only, never credentials. */
export interface CopyWorkflowInput {
  copyId: string;
  source: DatabaseRef;
  destination: DatabaseRef;
  threads: number;
  recreateDestination: boolean;
  callbackUrl: string | null;
  requestedBy: string;
}

export interface TableCount {
  table: string;
  sourceRows: number;
  destinationRows: number;
}

/** The live state of a copy: kept in the workflow, exposed by query and mirrored in its memo. */
export interface CopyState {
  id: string;
  status: CopyStatus;
  phase: CopyPhase;
  progress: number;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  updatedAt: string | null;
  tables: TableCount[];
}

/** The workflow id is the destination: Temporal itself refuses a second copy into it. */
export const copyWorkflowId = (destination: DatabaseRef): string => `copy:${destination.connection}/${destination.database}`;

/** Progress budget per phase: dump 0–45, load 45–95, verify 95–99, done 100. */
export const copyPhaseRange: Record<'dumping' | 'loading' | 'verifying', [number, number]> = {
  dumping: [1, 45],
  loading: [45, 95],
  verifying: [95, 99],
};

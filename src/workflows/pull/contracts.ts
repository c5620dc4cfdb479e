// Sanitized-pull contracts shared by the API, the activities and the workflow (which must stay free of zod).
import type { CopyStatus } from '../copy/contracts.ts';

export type PullStatus = CopyStatus;
export type PullPhase =
  'queued' | 'validating' | 'copying' | 'sanitizing' | 'gating' | 'dumping' | 'loading' | 'recording' | 'cleaning-up' | 'done';

/** The workflow's input: a profile name (the worker reads the profile from its config), never credentials. */
export interface PullWorkflowInput {
  pullId: string;
  profile: string;
  /** Pull every table whole (the seed's --full), ignoring watermarks. */
  full: boolean;
  /** Only these tables (the seed's --tables); null for all. */
  tables: string[] | null;
  callbackUrl: string | null;
  requestedBy: string;
}

/** One pulled table as the history shows it. */
export interface PullTableResult {
  table: string;
  mode: 'full' | 'delta';
  rows: number;
  sanitized: boolean;
  limited: boolean;
}

/** The live state of a pull: kept in the workflow, exposed by query and mirrored in its memo. */
export interface PullState {
  id: string;
  profile: string;
  status: PullStatus;
  phase: PullPhase;
  progress: number;
  /** `full` when every table was pulled whole, else `delta`. */
  mode: 'full' | 'delta' | null;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  updatedAt: string | null;
  workspace: string | null;
  tables: PullTableResult[];
  rows: number;
}

/** One line of the dry run's table (seed 002's `--dry-run`). */
export interface DryRunRow {
  table: string;
  rows: number;
  mode: 'full' | 'delta' | 'excluded';
  sanitized: boolean;
  limited: boolean;
  timestamps: boolean;
  excluded: boolean;
}

/** Temp workspaces carry their creation time in the name, so a sweep can tell an orphan's age without any state. */
export const WORKSPACE_PREFIX = '_dbferry_tmp_';

/**
 * `_dbferry_tmp_<unix seconds>_<id>`: the id is the pull's id without dashes (32 hex digits, the
 * whole id, for a workspace database; 8 for prefixed tables, which need the room for table names;
 * 12 in workspaces made before), so the sweep can tell which pull a workspace belongs to.
 */
export const workspaceName = (unixSeconds: number, random: string): string =>
  `${WORKSPACE_PREFIX}${Math.floor(unixSeconds)}_${random
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 32)
    .toLowerCase()}`;

const WORKSPACE_NAME = /^_dbferry_tmp_(\d{9,11})_([a-z0-9]{1,32})$/;

/** The creation time (unix seconds) in a workspace name, or null for a name that is not one. */
export function workspaceCreatedAt(name: string): number | null {
  const match = WORKSPACE_NAME.exec(name);
  return match ? Number(match[1]) : null;
}

/** The pull id (dashes removed, whole or its first characters) in a workspace name, or null. */
export function workspacePullId(name: string): string | null {
  return WORKSPACE_NAME.exec(name)?.[2] ?? null;
}

/** Progress at the start of each phase. */
export const pullPhaseProgress: Record<PullPhase, number> = {
  queued: 0,
  validating: 1,
  copying: 5,
  sanitizing: 35,
  gating: 45,
  dumping: 50,
  loading: 70,
  recording: 95,
  'cleaning-up': 97,
  done: 100,
};

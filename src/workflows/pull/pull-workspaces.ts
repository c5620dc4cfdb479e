// The pull's two small workflows: the dry run, and the sweep of workspaces orphaned by dead runs.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { DryRunRow } from './contracts.ts';
import { planningActivity } from '../runs/activity-options.ts';

const { dryRunPull, dropOrphanPullWorkspaces } = proxyActivities<Activities>(planningActivity);

/** The seed's `--dry-run`: what a pull would do, touching nothing. */
export async function sanitizedPullDryRun(input: { profile: string; full: boolean; tables: string[] | null }): Promise<DryRunRow[]> {
  return dryRunPull({ pullId: 'dry-run', ...input });
}

/** The orphan sweep (hourly schedule and `dbferry cleanup`): drops workspaces older than maxAgeMinutes. */
export async function cleanupPullWorkspaces(input: { maxAgeMinutes: number; dryRun?: boolean }) {
  return dropOrphanPullWorkspaces({ maxAgeMinutes: input.maxAgeMinutes, dryRun: input.dryRun ?? false });
}

// What the pull activities take from the worker, and the look-ups they share: profiles, pools, the secret, paths.
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import { ApplicationFailure } from '@temporalio/activity';
import type { PullProfile } from '../../config/pull-profiles.ts';
import type { ActivityDeps } from '../deps.ts';
import { UnknownConnectionError } from '../mysql/pools.ts';
import { WatermarkStore } from './watermarks.ts';

/** The part of the worker's long-lived clients that pulls use: the config and the MySQL pools. */
export type PullDeps = Pick<ActivityDeps, 'config' | 'pools'>;

/** A permanent failure: the request or the profile is wrong, so a retry would fail the same way. */
export const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);

/** The look-ups every pull activity shares, each refusing (not retrying) a name the config lacks. */
export interface PullResources {
  deps: PullDeps;
  /** The pull profile of that name. */
  profileOf(name: string): PullProfile;
  /** The pool of a configured connection. */
  pool(connection: string): Pool;
  /** The deterministic secret, from the variable the profile names; never logged, never in a workflow. */
  secretOf(name: string, profile: PullProfile): string | null;
  /** The connection a profile's workspace is created through (the source's server unless it names another). */
  workspaceConnectionOf(profile: PullProfile): string;
  /** The pull's dump directory under the worker's workDir. */
  pullDir(pullId: string): string;
  /** Where a pull's tool writes its pid, so a retried attempt can kill an orphaned one. */
  pidFile(pullId: string, tool: string): string;
  /** The delta watermarks in the control schema. */
  watermarks(): WatermarkStore;
}

/** Binds the shared look-ups to the worker's config and pools. */
export function createPullResources(deps: PullDeps): PullResources {
  const pool = (name: string): Pool => {
    try {
      return deps.pools.get(name);
    } catch (error) {
      if (error instanceof UnknownConnectionError) throw refuse(error.message, 'InvalidRequest');
      throw error;
    }
  };
  return {
    deps,
    profileOf(name) {
      const profile = Object.hasOwn(deps.config.pulls, name) ? deps.config.pulls[name] : undefined;
      if (!profile) throw refuse(`profile: no pull profile named "${name}" in the worker's config`, 'InvalidRequest');
      return profile;
    },
    pool,
    secretOf(name, p) {
      if (!p.secretEnv) return null;
      const value = process.env[p.secretEnv];
      const needed = Object.values(p.sanitize).some((cols) => Object.values(cols).some((r) => r.deterministic));
      if (needed && (value === undefined || value.length < 16)) {
        throw refuse(
          `pulls.${name}.secretEnv: environment variable ${p.secretEnv} must be set on the worker to a secret of at least 16 characters`,
          'InvalidProfile',
        );
      }
      return value ?? null;
    },
    workspaceConnectionOf: (p) => p.workspaceConnection ?? p.source.connection,
    pullDir: (pullId) => join(deps.config.workDir, `pull-${pullId}`),
    pidFile: (pullId, tool) => join(deps.config.workDir, `pull-${pullId}.${tool}.pid`),
    watermarks: () => new WatermarkStore(pool(deps.config.control.connection), deps.config.control.database),
  };
}

import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { findDestinationProblem, sameDatabase } from '../../shared/copy-rules.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import type { DryRunRow } from '../../workflows/pull/contracts.ts';
import type { PullProfile } from '../../config/pull-profiles.ts';
import { readCatalog } from './pull-catalog.ts';
import type { ForeignKey } from './fk-graph.ts';
import { planPull, PullPlanError, type PullPlan, type TablePlan } from './plan.ts';
import { deltaCondition } from './subset-sql.ts';
import { WatermarkStore } from './watermarks.ts';
import { countRows, createWorkspace, dropWorkspace, isBookkeepingFile } from './workspace.ts';
import { fillWorkspace, fusedTables } from './fill-workspace.ts';
import { findLeaks, sanitizeWorkspace } from './sanitize-workspace.ts';
import { UnknownConnectionError } from '../mysql/pools.ts';
import type { ActivityDeps } from '../deps.ts';
import { countDumpRows, escapeRegExp } from '../tools/dump-files.ts';
import { charsetName, databaseCharset, databaseExists } from '../copy/copy-checks.ts';
import { killOrphanedTool } from '../tools/tools.ts';
import { onConnection, runPullTool, withSessions } from './sessions.ts';
import { whileHeartbeating } from '../tools/heartbeat.ts';
import { sweepOrphanWorkspaces, type OrphanWorkspace } from './orphans.ts';
import { WorkspaceLayout, type WorkspaceStrategy } from './workspace-layout.ts';
import { adoptDirectDump, renameDumpedCopies, showCreateTables } from './dump-rewrite.ts';

export interface PreparePullInput {
  pullId: string;
  profile: string;
  full: boolean;
  tables: string[] | null;
}
export interface PreparedPull {
  plan: PullPlan;
  foreignKeys: ForeignKey[];
  source: DatabaseRef;
  destination: DatabaseRef;
  /** The connection the workspace is created through (the source's server). */
  workspaceConnection: string;
  /** A workspace database, or prefixed tables in the source database. */
  workspaceStrategy: WorkspaceStrategy;
  /** The source server's clock when the pull started: the next delta pulls from here. */
  watermark: string;
  threads: number;
  deadlineMinutes: number;
  charset: string;
  collation: string;
}
interface WorkspaceRef {
  pullId: string;
  workspaceConnection: string;
  workspace: string;
  /** The tables strategy: the source database the workspace's prefixed tables live in. */
  inDatabase?: string | null;
}

const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);

export function createPullActivities(deps: ActivityDeps) {
  const profileOf = (name: string): PullProfile => {
    const profile = Object.hasOwn(deps.config.pulls, name) ? deps.config.pulls[name] : undefined;
    if (!profile) throw refuse(`profile: no pull profile named "${name}" in the worker's config`, 'InvalidRequest');
    return profile;
  };
  const pool = (name: string): Pool => {
    try {
      return deps.pools.get(name);
    } catch (error) {
      if (error instanceof UnknownConnectionError) throw refuse(error.message, 'InvalidRequest');
      throw error;
    }
  };
  const workspaceConnectionOf = (p: PullProfile): string => p.workspaceConnection ?? p.source.connection;
  const pullDir = (pullId: string): string => join(deps.config.workDir, `pull-${pullId}`);
  const pidFile = (pullId: string, tool: string): string => join(deps.config.workDir, `pull-${pullId}.${tool}.pid`);
  const watermarks = (): WatermarkStore => new WatermarkStore(pool(deps.config.control.connection), deps.config.control.database);

  /** The deterministic secret, from the variable the profile names; never logged, never in a workflow. */
  const secretOf = (name: string, p: PullProfile): string | null => {
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
  };

  /** Checks everything a pull needs before anything is created, and plans it table by table. */
  async function plan(input: PreparePullInput): Promise<PreparedPull> {
    const p = profileOf(input.profile);
    const problem = findDestinationProblem(deps.config, p.destination);
    if (problem)
      throw refuse(
        `pulls.${input.profile}.${problem.field}: ${problem.message}`,
        problem.kind === 'forbidden' ? 'DestinationForbidden' : 'InvalidRequest',
      );
    if (sameDatabase(deps.config, p.source, p.destination))
      throw refuse(`pulls.${input.profile}.destination: is the source database itself`, 'InvalidRequest');
    secretOf(input.profile, p);
    const source = pool(p.source.connection);
    const [server] = await source.query<RowDataPacket[]>('SELECT VERSION() AS v, @@version_comment AS c, NOW() AS now');
    const version = `${server[0]?.v ?? ''} ${server[0]?.c ?? ''}`;
    if (!/mariadb|mysql|percona/i.test(version))
      throw refuse(`source server "${version.trim()}" is not MySQL or MariaDB; sanitized pulls need one of them`, 'UnsupportedEngine');
    if (!(await databaseExists(source, p.source.database))) {
      throw refuse(`source database "${p.source.database}" does not exist on connection "${p.source.connection}"`, 'DatabaseNotFound');
    }
    const catalog = await readCatalog(source, p.source.database);
    const dest = pool(p.destination.connection);
    const [destTables] = await dest.query<RowDataPacket[]>(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
      [p.destination.database],
    );
    let pullPlan: PullPlan;
    try {
      pullPlan = planPull(p, catalog, {
        full: input.full,
        tables: input.tables,
        watermarks: input.full ? {} : await watermarks().read(p.destination),
        destinationTables: new Set(destTables.map((r) => String(r.t))),
      });
    } catch (error) {
      if (error instanceof PullPlanError) throw refuse(error.message, error.kind);
      throw error;
    }
    const { charset, collation } = await databaseCharset(source, p.source.database);
    const inPull = new Set(pullPlan.tables.map((t) => t.table));
    const foreignKeys = catalog.foreignKeys.filter((fk) => inPull.has(fk.table) && inPull.has(fk.refTable));
    const fused = fusedTables(pullPlan.tables, foreignKeys);
    for (const t of pullPlan.tables) t.sanitizeInPlace = t.sanitize.length > 0 && !fused.has(t.table);
    return {
      plan: pullPlan,
      foreignKeys,
      source: p.source,
      destination: p.destination,
      workspaceConnection: workspaceConnectionOf(p),
      workspaceStrategy: p.workspaceStrategy,
      watermark: String(server[0]?.now),
      threads: p.threads,
      deadlineMinutes: p.deadlineMinutes,
      charset,
      collation,
    };
  }

  return {
    /** Validates the profile and request against the source's catalogue and plans every table. */
    preparePull: (input: PreparePullInput): Promise<PreparedPull> => whileHeartbeating(() => plan(input)),

    /** The seed's `--dry-run`: rows each table would bring, and how; reads only. */
    dryRunPull: (input: PreparePullInput): Promise<DryRunRow[]> =>
      whileHeartbeating(async () => {
        const prepared = await plan(input);
        const source = pool(prepared.source.connection);
        const rows: DryRunRow[] = [];
        for (const t of prepared.plan.tables) {
          const [count] = await source.query<RowDataPacket[]>(
            `SELECT COUNT(*) AS n FROM ${quoteIdentifier(prepared.source.database)}.${quoteIdentifier(t.table)} s${t.since ? ` WHERE ${deltaCondition('s')}` : ''}`,
            t.since ? [t.since, t.since] : [],
          );
          const n = Number(count[0]?.n ?? 0);
          rows.push({
            table: t.table,
            rows: t.limit ? Math.min(n, t.limit.maxRows) : n,
            mode: t.mode,
            sanitized: t.sanitize.length > 0,
            limited: t.limit !== null,
            timestamps: t.timestamps,
            excluded: false,
          });
        }
        for (const table of prepared.plan.excluded)
          rows.push({ table, rows: 0, mode: 'excluded', sanitized: false, limited: false, timestamps: false, excluded: true });
        return rows;
      }),

    /** Creates the temp workspace on the source's server (a database, or prefixed tables): an empty copy of each table but the direct ones. */
    async createTempDatabase(input: WorkspaceRef & { source: string; tables: string[]; inPlace?: string[] }): Promise<void> {
      await onConnection(pool(input.workspaceConnection), (conn) =>
        createWorkspace(conn, input.source, WorkspaceLayout.of(input), input.tables, new Set(input.inPlace ?? input.tables)),
      );
    },

    /** Copies the subset into the workspace, in FK order, with INSERT … SELECT; returns rows per table. */
    async copyTablesIntoWorkspace(
      input: WorkspaceRef & { source: string; tables: TablePlan[]; foreignKeys: ForeignKey[]; threads: number; profile?: string },
    ): Promise<Record<string, number>> {
      const ctx = Context.current();
      // Rules whose columns no key uses are applied by the copy itself (the same keys as applySanitizationRules).
      const keys =
        input.profile === undefined
          ? null
          : { deterministic: secretOf(input.profile, profileOf(input.profile)), run: randomBytes(32).toString('hex') };
      return withSessions(pool(input.workspaceConnection), (open) =>
        fillWorkspace(open, input.source, WorkspaceLayout.of(input), input.tables, input.foreignKeys, {
          parallel: Math.min(input.threads, 6),
          keys,
          onStep: (done, total) => ctx.heartbeat({ done, total }),
        }),
      );
    },

    /** Runs the UPDATE … CASE statements in the workspace, keyed by the profile's secret or a random key. */
    async applySanitizationRules(input: WorkspaceRef & { profile: string; tables: TablePlan[] }): Promise<void> {
      const ctx = Context.current();
      const secret = secretOf(input.profile, profileOf(input.profile));
      await onConnection(pool(input.workspaceConnection), (conn) =>
        sanitizeWorkspace(
          conn,
          WorkspaceLayout.of(input),
          input.tables,
          { deterministic: secret, run: randomBytes(32).toString('hex') },
          (table, i, total) => ctx.heartbeat({ table, i, total }),
        ),
      );
    },

    /** The gate: proves no original value of a sanitized column is left before anything leaves the workspace. */
    async checkSanitizationGate(input: WorkspaceRef & { source: string; tables: TablePlan[] }): Promise<void> {
      const leaks = await onConnection(pool(input.workspaceConnection), (conn) =>
        findLeaks(conn, input.source, WorkspaceLayout.of(input), input.tables),
      );
      if (leaks.length) throw refuse(`sanitization gate failed, nothing was pulled: ${leaks.join('; ')}`, 'SanitizationGateFailed');
    },

    /**
     * Dumps the workspace with mydumper, and the direct tables from the source beside it. Copies get
     * the source's own DDL and, for the tables strategy, their original names back; delta tables lose
     * their DDL and load as REPLACE (upsert).
     */
    async dumpPullWorkspace(
      input: WorkspaceRef & { threads: number; deltaTables: string[]; tables?: string[]; source?: string; direct?: string[] },
    ): Promise<{ dumpDir: string; rows: Record<string, number> }> {
      const layout = WorkspaceLayout.of(input);
      const dir = pullDir(input.pullId);
      const direct = input.source ? (input.direct ?? []) : [];
      await killOrphanedTool(pidFile(input.pullId, 'mydumper'));
      await killOrphanedTool(pidFile(input.pullId, 'mydumper-direct'));
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // --no-locks: nobody else writes the workspace, so no FLUSH TABLES WITH READ LOCK, which on
      // the source's server would stall every production writer (and needs RELOAD). A direct table
      // is read like the INSERT … SELECT of a copy would: each thread in its own snapshot.
      const mydumper = (tool: string, database: string, regex: string[], out: string) =>
        runPullTool(deps, input.workspaceConnection, {
          command: 'mydumper',
          pidFile: pidFile(input.pullId, tool),
          args: [
            '--database',
            database,
            ...regex,
            '--outputdir',
            out,
            '--threads',
            String(input.threads),
            '--rows',
            '200000',
            '--no-locks',
            '--verbose',
            '3',
          ],
        });
      const exactly = (names: string[]): string => `(${names.map(escapeRegExp).join('|')})$`;
      const directDir = join(dir, 'direct');
      if (layout.strategy === 'tables') {
        // One run over the source database: the workspace's copies and the direct tables, never another table.
        const copiesOrDirect = direct.length ? `(${escapeRegExp(layout.copyPrefix)}|${exactly(direct)})` : escapeRegExp(layout.copyPrefix);
        await mydumper('mydumper', layout.database, ['--regex', `^${escapeRegExp(layout.database)}\\.${copiesOrDirect}`], dir);
      } else {
        await Promise.all([
          mydumper('mydumper', layout.database, [], dir),
          direct.length
            ? mydumper('mydumper-direct', input.source!, ['--regex', `^${escapeRegExp(input.source!)}\\.${exactly(direct)}`], directDir)
            : null,
        ]);
      }
      const files = await readdir(dir);
      await Promise.all(files.filter((f) => isBookkeepingFile(layout, f)).map((f) => rm(join(dir, f), { force: true })));
      if (direct.length && layout.strategy === 'database') await adoptDirectDump(directDir, dir, input.source!, layout.database, direct);
      // The copies' DDL is the workspace's (another engine, no foreign keys): the destination gets the source's.
      const source = input.source ?? layout.database;
      const copied = (input.tables ?? []).filter((t) => !direct.includes(t));
      const ddl = await onConnection(pool(input.workspaceConnection), (conn) => showCreateTables(conn, source, copied));
      await renameDumpedCopies(dir, layout, ddl, new Set(input.deltaTables), new Set(direct));
      const counts = await countDumpRows(dir, layout.database);
      for (const table of input.deltaTables) {
        if (!counts.has(table)) counts.set(table, 0);
      }
      return { dumpDir: dir, rows: Object.fromEntries(counts) };
    },

    /** Loads the dump with myloader (FK checks off): full tables are dropped and recreated, delta tables upserted. */
    async loadPullIntoDestination(input: {
      pullId: string;
      destination: DatabaseRef;
      workspace: string;
      dumpDir: string;
      threads: number;
      charset: string;
      collation: string;
    }): Promise<void> {
      try {
        await access(join(input.dumpDir, 'metadata'));
      } catch {
        throw refuse(`dump directory ${input.dumpDir} is missing or incomplete`, 'DumpMissing');
      }
      const problem = findDestinationProblem(deps.config, input.destination);
      if (problem) throw refuse(`${problem.field}: ${problem.message}`, 'DestinationForbidden');
      await killOrphanedTool(pidFile(input.pullId, 'myloader'));
      await pool(input.destination.connection).query(
        `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(input.destination.database)} CHARACTER SET ${charsetName(input.charset)} COLLATE ${charsetName(input.collation)}`,
      );
      const tail = await runPullTool(
        deps,
        input.destination.connection,
        {
          command: 'myloader',
          pidFile: pidFile(input.pullId, 'myloader'),
          args: [
            '--directory',
            input.dumpDir,
            '--database',
            input.destination.database,
            '--overwrite-tables',
            '--threads',
            String(input.threads),
            '--verbose',
            '3',
          ],
        },
        { myloader: ['init-command=SET SESSION innodb_lock_wait_timeout=86400'] },
      );
      const errors = tail.filter((l) => /CRITICAL|\bError\b/.test(l));
      if (errors.length) throw ApplicationFailure.retryable(`myloader reported errors: ${errors.slice(-3).join(' | ')}`, 'LoadFailed');
    },

    /** Drops the workspace and the dump directory (and any tool still using them). Always safe to repeat. */
    async dropTempDatabase(input: WorkspaceRef): Promise<void> {
      await killOrphanedTool(pidFile(input.pullId, 'mydumper'));
      await killOrphanedTool(pidFile(input.pullId, 'myloader'));
      await rm(pullDir(input.pullId), { recursive: true, force: true });
      const conn = await pool(input.workspaceConnection).getConnection();
      try {
        await dropWorkspace(conn, WorkspaceLayout.of(input));
      } finally {
        conn.release();
      }
    },

    /** Records the pull's start time as the watermark of every table it pulled into the destination. */
    async recordPullWatermarks(input: {
      pullId: string;
      profile: string;
      destination: DatabaseRef;
      watermark: string;
      tables: string[];
    }): Promise<void> {
      await watermarks().record(input.destination, input.profile, input.pullId, input.watermark, input.tables);
    },

    /** Rows per table in the destination, after the load. */
    async countDestinationRows({ destination, tables }: { destination: DatabaseRef; tables: string[] }): Promise<Record<string, number>> {
      const conn = await pool(destination.connection).getConnection();
      try {
        return await countRows(conn, destination.database, tables);
      } finally {
        conn.release();
      }
    },

    /** The orphan sweep: drops workspaces older than maxAgeMinutes on every server pulls use. */
    async dropOrphanPullWorkspaces({ maxAgeMinutes, dryRun }: { maxAgeMinutes: number; dryRun: boolean }): Promise<OrphanWorkspace[]> {
      return sweepOrphanWorkspaces(deps.config.pulls, (name) => pool(name), maxAgeMinutes, dryRun);
    },
  };
}

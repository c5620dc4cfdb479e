// Before anything is created: check a pull request against the config and the source, plan it, or count what it would bring.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import type { DryRunRow } from '../../workflows/pull/contracts.ts';
import { findDestinationProblem, findSameServerProblem, sameDatabase } from '../../shared/copy-rules.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import { databaseCharset, databaseExists } from '../mysql/databases.ts';
import { fusedTables } from './fill-workspace.ts';
import type { ForeignKey } from './fk-graph.ts';
import { planPull, PullPlanError, type PullPlan } from './plan.ts';
import { readCatalog } from './pull-catalog.ts';
import { refuse, type PullResources } from './pull-resources.ts';
import { deltaCondition } from './subset-sql.ts';
import type { WorkspaceStrategy } from './workspace-layout.ts';

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

/** Checks everything a pull needs before anything is created, and plans it table by table. */
export async function preparePullPlan(r: PullResources, input: PreparePullInput): Promise<PreparedPull> {
  const { config } = r.deps;
  const p = r.profileOf(input.profile);
  const problem = findDestinationProblem(config, p.destination);
  if (problem)
    throw refuse(
      `pulls.${input.profile}.${problem.field}: ${problem.message}`,
      problem.kind === 'forbidden' ? 'DestinationForbidden' : 'InvalidRequest',
    );
  if (sameDatabase(config, p.source, p.destination))
    throw refuse(`pulls.${input.profile}.destination: is the source database itself`, 'InvalidRequest');
  const servers = r.deps.pools.servers;
  const serverProblem = await findSameServerProblem(config, (a, b) => servers.same(a, b), p);
  if (serverProblem)
    throw refuse(
      `pulls.${input.profile}.${serverProblem.field}: ${serverProblem.message}`,
      serverProblem.kind === 'forbidden' ? 'DestinationForbidden' : 'InvalidRequest',
    );
  r.secretOf(input.profile, p);
  const source = r.pool(p.source.connection);
  const [server] = await source.query<RowDataPacket[]>('SELECT VERSION() AS v, @@version_comment AS c, NOW() AS now');
  const version = `${server[0]?.v ?? ''} ${server[0]?.c ?? ''}`;
  if (!/mariadb|mysql|percona/i.test(version))
    throw refuse(`source server "${version.trim()}" is not MySQL or MariaDB; sanitized pulls need one of them`, 'UnsupportedEngine');
  if (!(await databaseExists(source, p.source.database))) {
    throw refuse(`source database "${p.source.database}" does not exist on connection "${p.source.connection}"`, 'DatabaseNotFound');
  }
  const catalog = await readCatalog(source, p.source.database);
  const dest = r.pool(p.destination.connection);
  const [destTables] = await dest.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
    [p.destination.database],
  );
  let pullPlan: PullPlan;
  try {
    pullPlan = planPull(p, catalog, {
      full: input.full,
      tables: input.tables,
      watermarks: input.full ? {} : await r.watermarks().read(p.destination),
      destinationTables: new Set(destTables.map((row) => String(row.t))),
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
    workspaceConnection: r.workspaceConnectionOf(p),
    workspaceStrategy: p.workspaceStrategy,
    watermark: String(server[0]?.now),
    threads: p.threads,
    deadlineMinutes: p.deadlineMinutes,
    charset,
    collation,
  };
}

/** The rows each planned table would bring (read from the source, nothing written), and the excluded tables. */
export async function countDryRunRows(source: Pool, prepared: PreparedPull): Promise<DryRunRow[]> {
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
}

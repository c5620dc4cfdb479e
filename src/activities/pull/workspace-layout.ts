// Where a workspace's tables live (a database of its own, or prefixed tables in the source) and what they are called.
import { createHash } from 'node:crypto';
import { quoteIdentifier } from '../../shared/names.ts';
import { workspaceCreatedAt } from '../../workflows/pull/contracts.ts';

// Where a pull's workspace tables live (seed 002's temp_strategy):
//
// - `database` (the default): a database of its own, `_dbferry_tmp_<unix-ts>_<rand>`, holding each
//   pulled table under its own name and the bookkeeping tables as `_dbferry_<name>`. Complete
//   isolation; needs a user that may CREATE and DROP databases (or the profile's workspaceConnection).
// - `tables`: prefixed tables in the source database itself, for users who may not create
//   databases: `<workspace>_t_<table>` for the copies and `<workspace>_b_<name>` for bookkeeping.
//   They are made with CREATE TABLE … LIKE, which keeps columns and indexes but no foreign keys
//   (constraint names are unique per database, so the source's could not be reused); the dump is
//   rewritten to the original names and given the source's own DDL before it is loaded.
//
// In both, the workspace name carries its creation time, so the orphan sweep needs no state.

export type WorkspaceStrategy = 'database' | 'tables';

const MAX_IDENTIFIER = 64;
const q = quoteIdentifier;

/** A tables-strategy table name: `_dbferry_tmp_<ts>_<rand>_t_…` or `…_b_…`, with its workspace. */
const PREFIXED_TABLE = /^(_dbferry_tmp_\d{9,11}_[a-z0-9]{1,32})_[tb]_/;

/** The workspace a tables-strategy table belongs to, or null when the name is not one of ours. */
export function workspaceOfTable(table: string): string | null {
  const match = PREFIXED_TABLE.exec(table);
  return match && workspaceCreatedAt(match[1]!) !== null ? match[1]! : null;
}

export class WorkspaceLayout {
  private constructor(
    /** `_dbferry_tmp_<ts>_<rand>`. */
    readonly name: string,
    readonly strategy: WorkspaceStrategy,
    /** The database holding the workspace tables: the workspace itself, or the source. */
    readonly database: string,
  ) {}

  /**
   * The layout of a workspace from what activities are given: its name and, for the tables
   * strategy, the source database it lives in.
   */
  static of(ref: { workspace: string; inDatabase?: string | null | undefined }): WorkspaceLayout {
    if (workspaceCreatedAt(ref.workspace) === null) throw new Error(`not a dbferry workspace name: ${JSON.stringify(ref.workspace)}`);
    return ref.inDatabase
      ? new WorkspaceLayout(ref.workspace, 'tables', ref.inDatabase)
      : new WorkspaceLayout(ref.workspace, 'database', ref.workspace);
  }

  /** A workspace database by name (statement building only; `of` also checks the name). */
  static database(name: string): WorkspaceLayout {
    return new WorkspaceLayout(name, 'database', name);
  }

  /** What every copy's name starts with (nothing in a workspace database). */
  get copyPrefix(): string {
    return this.strategy === 'database' ? '' : `${this.name}_t_`;
  }

  /** The (unquoted) name of the workspace copy of `table`. */
  tableName(table: string): string {
    if (this.strategy === 'database') return table;
    const prefix = this.copyPrefix;
    if (prefix.length + table.length <= MAX_IDENTIFIER) return prefix + table;
    // Too long with the prefix: keep what fits and a hash of the whole name, so names stay distinct.
    const hash = createHash('sha256').update(table).digest('hex').slice(0, 8);
    return `${prefix}${table.slice(0, MAX_IDENTIFIER - prefix.length - hash.length - 1)}_${hash}`;
  }

  /** The (unquoted) name of a bookkeeping table (`sanitized`, `seed_3`). */
  bookkeepingName(name: string): string {
    return this.strategy === 'database' ? `_dbferry_${name}` : `${this.name}_b_${name}`;
  }

  /** `db`.`copy of table`. */
  table(table: string): string {
    return `${q(this.database)}.${q(this.tableName(table))}`;
  }

  /** `db`.`bookkeeping table`. */
  bookkeeping(name: string): string {
    return `${q(this.database)}.${q(this.bookkeepingName(name))}`;
  }

  /** Maps the workspace copies' names back to the pulled tables' names; throws if two collide. */
  originalNames(tables: string[]): Map<string, string> {
    const map = new Map<string, string>();
    for (const t of tables) {
      const copy = this.tableName(t);
      if (map.has(copy)) throw new Error(`tables "${map.get(copy)}" and "${t}" would share the workspace name ${copy}`);
      map.set(copy, t);
    }
    return map;
  }
}

// One BackupStore per configured target, created on first use and closed once at shutdown, like
// the MySQL pools: an S3 client keeps its sockets and credentials cache across activities.
import type { DbferryConfig } from '../../config/schema.ts';
import { createStore, PermanentStorageError, type BackupStore } from './store.ts';

export class UnknownTargetError extends PermanentStorageError {
  override name = 'UnknownTargetError';
  constructor(readonly target: string) {
    super(`no target named "${target}" in the config file`, 'UnknownTarget');
  }
}

export class BackupStores {
  readonly #stores = new Map<string, BackupStore>();
  constructor(
    private readonly config: DbferryConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The store for a target name; throws UnknownTargetError (permanent) for a name not in the config. */
  get(name: string): BackupStore {
    let store = this.#stores.get(name);
    if (!store) {
      const target = Object.hasOwn(this.config.targets, name) ? this.config.targets[name] : undefined;
      if (!target) throw new UnknownTargetError(name);
      store = createStore(target, this.env);
      this.#stores.set(name, store);
    }
    return store;
  }

  close(): void {
    for (const store of this.#stores.values()) store.close();
    this.#stores.clear();
  }
}

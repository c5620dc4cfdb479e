// The worker process: one Temporal worker on the task queue, with the clients its activities share.
import { mkdir } from 'node:fs/promises';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { DbferryConfig } from './config/schema.ts';
import type { DbferryEnv } from './config/env.ts';
import { MysqlPools } from './activities/mysql/pools.ts';
import { BackupStores } from './activities/storage/stores.ts';
import { createActivities } from './activities/index.ts';
import { migrateControlSchema } from './control/migrations.ts';
import { applyAccessConfig } from './control/bootstrap.ts';
import { UserStore } from './control/users.ts';
import { PermissionStore } from './control/permissions.ts';
import { workflowBundlePath } from './bundle/workflow-bundle.ts';

/** The Worker.create options that bound how much the worker takes on at once (config `worker`). */
export function workerConcurrency(config: Pick<DbferryConfig, 'worker'>) {
  return {
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
  };
}

export interface WorkerHandle {
  worker: Worker;
  /** Resolves when the worker has stopped; rejects if it crashed. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a worker on the configured task queue. Long-lived clients (MySQL pools, backup target
 * stores, the Temporal connection) are created once here, handed to activities, and closed when the worker stops.
 */
export async function startWorker(config: DbferryConfig, env: DbferryEnv): Promise<WorkerHandle> {
  await mkdir(config.workDir, { recursive: true, mode: 0o700 });
  // Bundled in a child process and cached: webpack's memory never enters the worker.
  const codePath = await workflowBundlePath();
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const pools = new MysqlPools(config);
  // The worker checks every run's permissions in the control schema: it must exist, with the config's users.
  const controlPool = pools.get(config.control.connection);
  await migrateControlSchema(controlPool, config.control.database);
  await applyAccessConfig(
    config.access,
    new UserStore(controlPool, config.control.database),
    new PermissionStore(controlPool, config.control.database),
  );
  const stores = new BackupStores(config);
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: config.taskQueue,
    workflowBundle: { codePath },
    activities: createActivities({ config, pools, stores, webhookSecret: env.DBFERRY_WEBHOOK_SECRET }),
    ...workerConcurrency(config),
    // Give running tools time to see the cancellation and exit before the process goes.
    shutdownGraceTime: '10 seconds',
    // Heartbeats carry cancellation back to the activity: send them every second, not every 16 s.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
  const done = worker.run().finally(async () => {
    await pools.close();
    stores.close();
    await connection.close();
  });
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

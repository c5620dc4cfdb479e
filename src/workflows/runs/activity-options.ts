// Timeouts and retries, declared once and named for the kind of work, so every workflow treats
// the same kind of activity the same way.
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/** Catalogue checks and counts: a few retries for a flaky connection, never for a refused request. */
export const catalogActivity: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 },
};

/** Pull planning reads the catalogue: quick, retried a few times, never for a refused request. */
export const planningActivity: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 },
};

/**
 * Native tools (mydumper, myloader, mysqldump, mysql, uploads): long, heartbeating every second so a
 * dead worker is noticed within 20 s and the step retried; on cancel the workflow waits until the
 * tool is really dead before it cleans up behind it.
 */
export const toolActivity: ActivityOptions = {
  startToCloseTimeout: '48 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 3 },
};

/** Cleanup must happen: many attempts, short each. */
export const cleanupActivity: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 20 },
};

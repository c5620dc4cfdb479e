// The workflow bundle: every workflow the worker runs.
export { copyDatabase } from './copy-database.ts';
export { deliverWebhookWorkflow } from './deliver-webhook.ts';

// Child process of src/bundle/workflow-bundle.ts: bundles the workflows with webpack and writes the
// code to the given path (via a temp file and a rename, so a reader never sees half a bundle).
// It runs apart from the worker so webpack's memory (~80 MiB) is returned when it exits.
import { rename, writeFile } from 'node:fs/promises';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

const [workflowsPath, out] = process.argv.slice(2);
if (!workflowsPath || !out) {
  console.error('usage: bundle-workflows.mjs WORKFLOWS_PATH OUT_FILE');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
const tmp = `${out}.${process.pid}.tmp`;
await writeFile(tmp, code, { mode: 0o644 });
await rename(tmp, out);

// Only an alias now: physical tools run through tool-process.ts like every other tool. Kept for
// test/workflows/physical/physical-restore-crash.stack.test.ts until it imports killOrphanedTool from tools.ts.
export { killOrphanedTool as killOrphan } from './orphans.ts';

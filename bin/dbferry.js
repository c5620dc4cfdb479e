#!/usr/bin/env node
// The dbferry command: runs the TypeScript CLI through tsx (no build step to forget).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');

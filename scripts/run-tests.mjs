#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with Node's built-in test runner.
// Node 20's `--test` takes no globs, so the file list is collected here.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = collect('dist/src', []).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((part) => f.includes(part)));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/src (did the build run?)');
  process.exit(1);
}
// Every kiln process a test starts writes its logs into one throwaway folder, not ./Logs (tests
// about logging pass their own --log-dir).
const logDir = mkdtempSync(join(tmpdir(), 'kiln-test-logs-'));
// Tests that train real models are CPU-heavy; two cores fit one such file at a time.
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env: { ...process.env, KILN_LOG_DIR: logDir } });
rmSync(logDir, { recursive: true, force: true });
process.exit(result.status ?? 1);

#!/usr/bin/env node
// `npm test`: starts PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset, runs every jest
// tier, and ends with the line CI reads: "N passed, N failed". Extra args go to jest
// (e.g. `npm test -- test/e2e`). Services it started are stopped again at the end.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ensureServices, stopServices } = require('./services');

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, '.closeloop', 'jest-results.json');

async function main() {
  let started = false;
  if (!process.env.DATABASE_URL || !process.env.REDIS_URL) {
    const services = await ensureServices();
    started = services.startedHere;
    process.env.DATABASE_URL ||= services.databaseUrl;
    process.env.REDIS_URL ||= services.redisUrl;
  }
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.rmSync(RESULTS, { force: true });
  const jest = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--json',
      `--outputFile=${RESULTS}`,
      ...process.argv.slice(2),
    ],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
  );
  if (started) await stopServices({ quiet: true });

  let passed = 0;
  let failed = 1;
  try {
    const r = JSON.parse(fs.readFileSync(RESULTS, 'utf8'));
    passed = r.numPassedTests;
    // A suite that fails to load runs no test: count it as a failure, never as nothing.
    const brokenSuites = r.testResults.filter(
      (s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed'),
    ).length;
    failed = r.numFailedTests + brokenSuites;
  } catch {
    process.stderr.write('jest wrote no results: counting the run as failed\n');
  }
  const code = jest.status === 0 && failed === 0 ? 0 : 1;
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(code);
}

main().catch((e) => {
  process.stderr.write(`${e.message}\n`);
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
});

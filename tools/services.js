#!/usr/bin/env node
// Local PostgreSQL and Redis for this checkout: `node tools/services.js up|down|status|env`.
// Used by `npm test`, `npm run demo` and `npm run bench` when DATABASE_URL / REDIS_URL are unset.
// Order of preference: a Docker engine (docker compose), else local binaries (initdb/pg_ctl on
// PATH, redis-server, installed with apt-get when missing and running as root).
// Plain Node, builtins only: it must run before `npm run build` and without TypeScript.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIR = path.join(ROOT, '.closeloop', 'services');
const STATE = path.join(DIR, 'state.json');
const LOCK = path.join(DIR, 'lock');
const PG_PORT = Number(process.env.CLOSELOOP_PG_PORT || 55432);
const REDIS_PORT = Number(process.env.CLOSELOOP_REDIS_PORT || 56379);
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

class Missing extends Error {}

let quiet = false;
const log = (line) => {
  if (!quiet) process.stderr.write(`services: ${line}\n`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE, 'utf8'));
  } catch {
    return null;
  }
}

function writeState(state) {
  fs.mkdirSync(DIR, { recursive: true });
  fs.writeFileSync(STATE, `${JSON.stringify(state, null, 2)}\n`);
}

function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { ok: r.status === 0, out: `${r.stdout || ''}${r.stderr || ''}`.trim(), status: r.status };
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

function redisPing(port) {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

async function waitFor(what, probe, ms, logFile) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) {
      throw new Error(`${what} did not become ready within ${ms / 1000} s${logFile ? `; see ${logFile}` : ''}`);
    }
    await sleep(100);
  }
}

// Another process of this checkout may be starting services at the same moment (jest projects).
async function withLock(fn) {
  fs.mkdirSync(DIR, { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const fd = fs.openSync(LOCK, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const holder = Number(fs.readFileSync(LOCK, 'utf8') || 0);
      if (!alive(holder)) {
        fs.rmSync(LOCK, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK} (held by pid ${holder})`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK, { force: true });
  }
}

// ---------- Docker ----------

function dockerAnswers() {
  if (!which('docker')) return false;
  return run('docker', ['info'], { timeout: 5000 }).ok;
}

async function dockerUp() {
  const project = `closeloop-${path
    .basename(ROOT)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}`;
  log('a Docker engine answers: starting postgres and redis with docker compose');
  const r = run('docker', ['compose', '-p', project, 'up', '-d', 'postgres', 'redis'], { cwd: ROOT, stdio: 'pipe' });
  if (!r.ok) throw new Error(`docker compose up failed:\n${r.out}`);
  await waitFor('PostgreSQL (docker)', () => tcpOpen(PG_PORT), 60_000);
  await waitFor('Redis (docker)', () => redisPing(REDIS_PORT), 60_000);
  // The port opens before the server accepts queries; pg_isready tells when it does.
  if (which('pg_isready')) {
    await waitFor(
      'PostgreSQL (docker)',
      async () => run('pg_isready', ['-h', '127.0.0.1', '-p', String(PG_PORT)]).ok,
      60_000,
    );
  }
  return { mode: 'docker', project };
}

// ---------- local PostgreSQL ----------

function pgBin(name) {
  const onPath = which(name);
  if (onPath) return onPath;
  const base = '/usr/lib/postgresql';
  if (fs.existsSync(base)) {
    for (const v of fs.readdirSync(base).sort().reverse()) {
      const p = path.join(base, v, 'bin', name);
      if (fs.existsSync(p)) return p;
    }
  }
  return null;
}

function aptInstall(pkg, binary) {
  if (!IS_ROOT || !which('apt-get')) {
    throw new Missing(`${binary} is not installed. Install it with: sudo apt-get install -y ${pkg}`);
  }
  log(`${binary} is missing: apt-get install -y ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = run('apt-get', ['update'], { env });
  if (!update.ok) log(`apt-get update failed (${update.out.split('\n').pop()}); trying the install anyway`);
  const r = run('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env });
  if (!r.ok) throw new Missing(`could not install ${pkg} with apt-get:\n${r.out.split('\n').slice(-5).join('\n')}`);
}

// initdb and postgres refuse to run as root: as root they run as the `postgres` user.
function asPostgres(cmd, args, opts = {}) {
  if (!IS_ROOT) return run(cmd, args, opts);
  return run('runuser', ['-u', 'postgres', '--', cmd, ...args], opts);
}

function ensurePostgresUser() {
  if (!IS_ROOT) return;
  if (run('id', ['postgres']).ok) return;
  const r = run('useradd', ['--system', '--home-dir', '/var/lib/postgresql', '--shell', '/bin/bash', 'postgres']);
  if (!r.ok) throw new Missing(`cannot create the postgres user to run PostgreSQL as: ${r.out}`);
}

async function pgUp(state) {
  const dataDir = path.join(DIR, 'pg', 'data');
  const logFile = path.join(DIR, 'pg', 'postgres.log');
  const url = `postgres://postgres@127.0.0.1:${PG_PORT}/closeloop`;
  if (state.pg && alive(state.pg.pid) && (await tcpOpen(PG_PORT))) {
    log(`PostgreSQL already running (pid ${state.pg.pid})`);
    return { ...state.pg, reused: true };
  }
  let initdb = pgBin('initdb');
  let pgCtl = pgBin('pg_ctl');
  if (!initdb || !pgCtl) {
    aptInstall('postgresql', 'initdb/pg_ctl');
    initdb = pgBin('initdb');
    pgCtl = pgBin('pg_ctl');
    if (!initdb || !pgCtl)
      throw new Missing('PostgreSQL binaries (initdb, pg_ctl) were not found after installing postgresql');
  }
  if (await tcpOpen(PG_PORT)) {
    throw new Missing(`port ${PG_PORT} is taken by another program: set CLOSELOOP_PG_PORT or DATABASE_URL`);
  }
  ensurePostgresUser();
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (IS_ROOT) {
    // Every folder above the data dir must be traversable by the postgres user.
    for (let d = path.dirname(dataDir); d !== path.dirname(d); d = path.dirname(d)) {
      try {
        const mode = fs.statSync(d).mode;
        if ((mode & 0o001) === 0) fs.chmodSync(d, mode | 0o001);
      } catch {
        break;
      }
    }
    run('chown', ['-R', 'postgres', path.join(DIR, 'pg')]);
  }
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initdb ${dataDir}`);
    const r = asPostgres(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
    if (!r.ok) throw new Error(`initdb failed:\n${r.out}`);
  }
  // A development/test cluster: durability settings off for speed. Never use these in production.
  const opts = [
    `-p ${PG_PORT}`,
    `-k ${path.join(DIR, 'pg')}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  log(`starting PostgreSQL on 127.0.0.1:${PG_PORT}`);
  const r = asPostgres(pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', opts, 'start']);
  if (!r.ok) throw new Error(`pg_ctl start failed (see ${logFile}):\n${r.out}`);
  const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const psql = pgBin('psql');
  if (psql) {
    const exists = run(psql, [
      '-h',
      '127.0.0.1',
      '-p',
      String(PG_PORT),
      '-U',
      'postgres',
      '-tAc',
      "SELECT 1 FROM pg_database WHERE datname = 'closeloop'",
    ]);
    if (exists.ok && exists.out.trim() !== '1') {
      const c = run(psql, [
        '-h',
        '127.0.0.1',
        '-p',
        String(PG_PORT),
        '-U',
        'postgres',
        '-c',
        'CREATE DATABASE closeloop',
      ]);
      if (!c.ok) throw new Error(`could not create database closeloop: ${c.out}`);
    }
  } else {
    throw new Missing('psql is not installed. Install it with: apt-get install -y postgresql-client');
  }
  return { pid, port: PG_PORT, url, dataDir, pgCtl, logFile };
}

async function pgDown(pg) {
  if (!pg || !alive(pg.pid)) return false;
  const r = asPostgres(pg.pgCtl, ['-D', pg.dataDir, '-m', 'fast', '-w', 'stop']);
  if (!r.ok) {
    process.kill(pg.pid, 'SIGINT');
    const deadline = Date.now() + 30_000;
    while (alive(pg.pid) && Date.now() < deadline) await sleep(100);
  }
  return true;
}

// ---------- local Redis ----------

async function redisUp(state) {
  const dir = path.join(DIR, 'redis');
  const logFile = path.join(dir, 'redis.log');
  const url = `redis://127.0.0.1:${REDIS_PORT}`;
  if (state.redis && alive(state.redis.pid) && (await redisPing(REDIS_PORT))) {
    log(`Redis already running (pid ${state.redis.pid})`);
    return { ...state.redis, reused: true };
  }
  if (!which('redis-server')) {
    aptInstall('redis-server', 'redis-server');
    if (!which('redis-server')) throw new Missing('redis-server was not found after installing it');
  }
  if (await tcpOpen(REDIS_PORT)) {
    throw new Missing(`port ${REDIS_PORT} is taken by another program: set CLOSELOOP_REDIS_PORT or REDIS_URL`);
  }
  fs.mkdirSync(dir, { recursive: true });
  log(`starting Redis on 127.0.0.1:${REDIS_PORT}`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    'redis-server',
    ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  fs.closeSync(out);
  await waitFor('Redis', () => redisPing(REDIS_PORT), 20_000, logFile);
  return { pid: child.pid, port: REDIS_PORT, url, logFile };
}

async function redisDown(redis) {
  if (!redis || !alive(redis.pid)) return false;
  process.kill(redis.pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (alive(redis.pid) && Date.now() < deadline) await sleep(100);
  if (alive(redis.pid)) process.kill(redis.pid, 'SIGKILL');
  return true;
}

// ---------- dev peers: SMTP sink and SMSC simulator (`up` only; tests start their own) ----------

const SMTP_SINK_PORT = Number(process.env.CLOSELOOP_SMTP_PORT || 56025);
const SMSC_PORT = Number(process.env.CLOSELOOP_SMSC_PORT || 56775);

async function peersUp(state) {
  const smtpUrl = `smtp://127.0.0.1:${SMTP_SINK_PORT}`;
  const smppUrl = `smpp://closeloop:closeloop@127.0.0.1:${SMSC_PORT}`;
  if (state.peers && alive(state.peers.pid) && (await tcpOpen(SMTP_SINK_PORT))) {
    log(`SMTP sink and SMSC simulator already running (pid ${state.peers.pid})`);
    return state.peers;
  }
  const main = path.join(ROOT, 'dist', 'apps', 'peers', 'src', 'main.js');
  if (!fs.existsSync(main)) {
    log('building (the peers run from dist/)');
    const built = run('npm', ['run', '-s', 'build'], { cwd: ROOT });
    if (!built.ok) throw new Error(`npm run build failed:\n${built.out}`);
  }
  const dir = path.join(DIR, 'peers');
  const mailDir = path.join(DIR, 'mail');
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'peers.log');
  const out = fs.openSync(logFile, 'a');
  log(
    `starting the SMTP sink on 127.0.0.1:${SMTP_SINK_PORT} (messages in ${mailDir}) and the SMSC simulator on ${SMSC_PORT}`,
  );
  const child = spawn(process.execPath, [main], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, SMTP_SINK_PORT: String(SMTP_SINK_PORT), SMSC_PORT: String(SMSC_PORT), SINK_DIR: mailDir },
  });
  child.unref();
  fs.closeSync(out);
  await waitFor('the SMTP sink', () => tcpOpen(SMTP_SINK_PORT), 20_000, logFile);
  return { pid: child.pid, smtpUrl, smppUrl, logFile };
}

async function peersDown(peers) {
  if (!peers || !alive(peers.pid)) return false;
  process.kill(peers.pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive(peers.pid) && Date.now() < deadline) await sleep(100);
  if (alive(peers.pid)) process.kill(peers.pid, 'SIGKILL');
  return true;
}

// ---------- the API ----------

/**
 * Starts what is not running yet (or reuses it) and returns the URLs to use.
 * `startedHere` is true when this call started something, so the caller may stop it after.
 */
async function ensureServices(options = {}) {
  quiet = !!options.quiet;
  const external = { databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL };
  if (external.databaseUrl && external.redisUrl) return { ...external, startedHere: false };
  return withLock(async () => {
    const state = readState() || {};
    if (dockerAnswers() && !state.pg) {
      const docker = await dockerUp();
      const next = {
        mode: 'docker',
        project: docker.project,
        databaseUrl: `postgres://postgres@127.0.0.1:${PG_PORT}/closeloop`,
        redisUrl: `redis://127.0.0.1:${REDIS_PORT}`,
      };
      writeState(next);
      return {
        databaseUrl: external.databaseUrl || next.databaseUrl,
        redisUrl: external.redisUrl || next.redisUrl,
        startedHere: true,
      };
    }
    let startedHere = false;
    const next = { mode: 'local', ...state };
    if (!external.databaseUrl) {
      const pg = await pgUp(state);
      startedHere = startedHere || !pg.reused;
      delete pg.reused;
      next.pg = pg;
      next.databaseUrl = pg.url;
    }
    if (!external.redisUrl) {
      const redis = await redisUp(state);
      startedHere = startedHere || !redis.reused;
      delete redis.reused;
      next.redis = redis;
      next.redisUrl = redis.url;
    }
    writeState(next);
    return {
      databaseUrl: external.databaseUrl || next.databaseUrl,
      redisUrl: external.redisUrl || next.redisUrl,
      startedHere,
    };
  });
}

async function stopServices(options = {}) {
  quiet = !!options.quiet;
  return withLock(async () => {
    const state = readState();
    if (!state) return false;
    if (state.mode === 'docker') {
      run('docker', ['compose', '-p', state.project, 'down'], { cwd: ROOT });
      log('stopped docker compose services');
    } else {
      if (await pgDown(state.pg)) log(`stopped PostgreSQL (pid ${state.pg.pid})`);
      if (await redisDown(state.redis)) log(`stopped Redis (pid ${state.redis.pid})`);
    }
    if (await peersDown(state.peers)) log(`stopped the SMTP sink and SMSC simulator (pid ${state.peers.pid})`);
    fs.rmSync(STATE, { force: true });
    return true;
  });
}

async function status() {
  const state = readState();
  const lines = [];
  const db = process.env.DATABASE_URL;
  const redis = process.env.REDIS_URL;
  if (db) lines.push(`postgres  external  ${db}`);
  else if (state && state.pg) {
    const up = alive(state.pg.pid) && (await tcpOpen(state.pg.port));
    lines.push(`postgres  local     ${state.pg.url}  pid ${state.pg.pid}  ${up ? 'up' : 'down'}`);
  } else if (state && state.mode === 'docker') {
    lines.push(`postgres  docker    ${state.databaseUrl}  ${(await tcpOpen(PG_PORT)) ? 'up' : 'down'}`);
  } else lines.push('postgres  not started (npm run services -- up)');
  if (redis) lines.push(`redis     external  ${redis}`);
  else if (state && state.redis) {
    const up = alive(state.redis.pid) && (await redisPing(state.redis.port));
    lines.push(`redis     local     ${state.redis.url}  pid ${state.redis.pid}  ${up ? 'up' : 'down'}`);
  } else if (state && state.mode === 'docker') {
    lines.push(`redis     docker    ${state.redisUrl}  ${(await redisPing(REDIS_PORT)) ? 'up' : 'down'}`);
  } else lines.push('redis     not started (npm run services -- up)');
  if (state && state.peers) {
    const up = alive(state.peers.pid) && (await tcpOpen(SMTP_SINK_PORT));
    lines.push(`smtp sink ${state.peers.smtpUrl}  pid ${state.peers.pid}  ${up ? 'up' : 'down'}`);
    lines.push(`smsc      ${state.peers.smppUrl}  ${up ? 'up' : 'down'}`);
  }
  return lines.join('\n');
}

module.exports = { ensureServices, stopServices, readState, status };

if (require.main === module) {
  const command = process.argv[2];
  const main = async () => {
    switch (command) {
      case 'up': {
        const r = await ensureServices();
        const peers = await withLock(async () => {
          const state = readState() || {};
          const p = await peersUp(state);
          writeState({ ...state, peers: p });
          return p;
        });
        process.stdout.write(
          `DATABASE_URL=${r.databaseUrl}\nREDIS_URL=${r.redisUrl}\nSMTP_URL=${peers.smtpUrl}\nSMPP_URL=${peers.smppUrl}\n`,
        );
        return;
      }
      case 'env': {
        const r = await ensureServices({ quiet: true });
        process.stdout.write(`export DATABASE_URL=${r.databaseUrl}\nexport REDIS_URL=${r.redisUrl}\n`);
        return;
      }
      case 'down':
        if (!(await stopServices())) log('nothing to stop');
        return;
      case 'status':
        process.stdout.write(`${await status()}\n`);
        return;
      default:
        process.stderr.write('usage: npm run services -- up|down|status|env\n');
        process.exitCode = command ? 1 : 0;
    }
  };
  main().catch((e) => {
    process.stderr.write(`services: ${e instanceof Missing ? 'missing: ' : ''}${e.message}\n`);
    process.exit(1);
  });
}

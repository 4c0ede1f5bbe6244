#!/usr/bin/env node
// Entry point for `npm start`, `npm test`, `npm run bench` and `npm run build` on a fresh machine.
// Plain Node with no dependencies: it checks the toolchain, installs the pinned pnpm into
// .cache/tools (corepack's signature check fails on machines without its keys), installs the
// workspace from the committed lockfile, then hands over to scripts/<command>.ts through tsx.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const command = process.argv[2];
const commands = ['start', 'test', 'bench', 'build', 'new-service'];
if (!commands.includes(command)) {
  fail(`usage: node scripts/bootstrap.mjs <${commands.join('|')}> [args]`);
}

function step(message) {
  process.stdout.write(`\u25b6 ${message}\n`);
}

function fail(message) {
  process.stderr.write(`\u2716 ${message}\n`);
  process.exit(1);
}

function run(cmd, args, what) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (result.error) fail(`${what} could not start: ${result.error.message}`);
  if (result.status !== 0) fail(`${what} failed (exit ${result.status}). See the output above.`);
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 18)) {
  fail(`Node.js 20.18 or newer is required; this is ${process.version}. Install a current Node 20+ and retry.`);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, '');
const toolsDir = join(root, '.cache', 'tools');
const pnpmBin = join(toolsDir, 'node_modules', '.bin', 'pnpm');
const pnpmPkg = join(toolsDir, 'node_modules', 'pnpm', 'package.json');
const installedPnpm = existsSync(pnpmPkg) ? JSON.parse(readFileSync(pnpmPkg, 'utf8')).version : null;
if (installedPnpm !== pnpmVersion) {
  step(`installing pnpm ${pnpmVersion} into .cache/tools`);
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', toolsDir, `pnpm@${pnpmVersion}`],
    'npm install pnpm',
  );
}

step('installing workspace dependencies (pnpm install --frozen-lockfile)');
const lockfile = existsSync(join(root, 'pnpm-lock.yaml'));
run(pnpmBin, ['install', ...(lockfile ? ['--frozen-lockfile'] : []), '--reporter=append-only'], 'pnpm install');

const env = { ...process.env, PATH: `${join(toolsDir, 'node_modules', '.bin')}:${process.env.PATH}` };
// One process, TypeScript through tsx's loader: not the tsx command, which runs the script in a
// second process and, when a relayed signal is not confirmed within 30 ms (a loaded machine),
// SIGKILLs it, leaving PostgreSQL, Kafka and every other server it started running.
const child = spawn(process.execPath, ['--import', 'tsx', join('scripts', `${command}.ts`), ...process.argv.slice(3)], {
  cwd: root,
  stdio: 'inherit',
  env,
});
// Stopping: SIGINT and SIGTERM to this process (Ctrl-C, `kill`, `timeout`, systemd, an IDE's stop
// button, a container runtime) are passed on to the child, which stops everything it started and
// exits; this process waits for that, so the prompt returns after everything has stopped. A
// terminal's Ctrl-C reaches the child directly too: it stops once either way.
// Each signal is passed on once: the child is already stopping.
const passedOn = new Set();
const passOn = (signal) => {
  if (passedOn.has(signal)) return;
  passedOn.add(signal);
  child.kill(signal);
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => passOn(signal));
}
// npm does not pass SIGTERM on to its script, and a parent that dies (npm killed, a closed
// terminal) leaves this process behind with a new parent: the child is told to stop then too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) passOn('SIGTERM');
}, 500).unref();
child.on('error', (error) => fail(`could not run scripts/${command}.ts: ${error.message}`));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

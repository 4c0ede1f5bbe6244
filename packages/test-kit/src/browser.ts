import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import type { Log } from './infra/process.js';

/** Debian's Chromium; browser tests drive it with playwright-core (no downloaded browser builds). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, reproducible headless Chromium in containers and CI. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
] as const;

const run = promisify(execFile);

/**
 * Makes sure Debian's `chromium` is installed: as root it installs it with apt-get (printing a
 * progress line first, since it takes a minute); otherwise it says what to install.
 */
export async function ensureChromium(log: Log = (line) => console.log(line)): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `browser tests need Chromium at ${CHROMIUM_PATH}: install Debian's package as root (apt-get install -y chromium)`,
    );
  }
  log(`installing Debian's chromium for the browser tests (apt-get, about a minute)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run('apt-get', ['update', '-qq'], { env, maxBuffer: 64 * 1024 * 1024 });
    await run('apt-get', ['install', '-y', '-qq', 'chromium'], { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' ') ?? '';
    throw new Error(`could not install chromium with apt-get: ${(error as Error).message} ${detail}`.trim());
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is missing`);
  log(`chromium installed at ${CHROMIUM_PATH}`);
  return CHROMIUM_PATH;
}

/**
 * Launches headless Chromium ({@link CHROMIUM_PATH}) through playwright-core. playwright-core is
 * loaded on first use so that suites without a browser do not pay for it.
 */
export async function launchChromium(opts: { headless?: boolean; slowMo?: number } = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? true,
    args: [...CHROMIUM_ARGS],
    ...(opts.slowMo === undefined ? {} : { slowMo: opts.slowMo }),
  });
}

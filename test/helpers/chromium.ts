/**
 * Finds the Chromium the console's browser tests drive (Debian package `chromium`, driven with
 * puppeteer-core: no browser download). When it is missing and the process runs as root with
 * apt-get (CI on Debian), it installs it; otherwise it fails with the one-line install command.
 * It never skips: a missing browser is a failure, as for the Lua toolchain (lua-toolchain.ts).
 */
import { spawnSync } from 'node:child_process';
import puppeteer, { type Browser } from 'puppeteer-core';

/** The one line that installs it. */
export const CHROMIUM_INSTALL_COMMAND = 'sudo apt-get install -y chromium';

const CANDIDATES = ['chromium', 'chromium-browser'] as const;

function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

function find(): string | undefined {
  const fromEnv = process.env.LUP_CHROMIUM;
  if (fromEnv) return fromEnv;
  for (const name of CANDIDATES) {
    const path = which(name);
    if (path) return path;
  }
  return undefined;
}

/**
 * The path of the Chromium binary, installed first when missing and allowed (root + apt-get).
 * @throws Error naming the install command.
 */
export function chromiumPath(): string {
  let path = find();
  if (!path && typeof process.getuid === 'function' && process.getuid() === 0 && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 600_000 });
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'ignore', env, timeout: 900_000 });
    path = find();
  }
  if (!path) throw new Error(`The console's browser tests need Chromium. Install it with: ${CHROMIUM_INSTALL_COMMAND}`);
  return path;
}

/** Launch headless Chromium (no sandbox when running as root, as in CI containers). */
export async function launchChromium(): Promise<Browser> {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...(asRoot ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
}

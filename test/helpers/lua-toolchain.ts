/**
 * Finds the Lua toolchain the client kit's tests run on (lua5.1, luajit, busted, and the cjson,
 * socket and bit modules for both). When something is missing and the process runs as root with
 * apt-get available (CI on Debian), it installs the packages; otherwise it fails with the one-line
 * install command. It never skips: a missing interpreter is a failure.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The Debian packages of the toolchain. */
export const LUA_PACKAGES = ['lua5.1', 'luajit', 'lua-busted', 'lua-cjson', 'lua-socket', 'lua-bitop'] as const;

/** The one line that installs them. */
export const LUA_INSTALL_COMMAND = `sudo apt-get install -y ${LUA_PACKAGES.join(' ')}`;

/** The interpreters the busted suites run under. */
export const LUA_INTERPRETERS = ['lua5.1', 'luajit'] as const;
export type LuaInterpreter = (typeof LUA_INTERPRETERS)[number];

/** Where the toolchain is. */
export interface LuaToolchain {
  /** Absolute path of each interpreter. */
  readonly interpreters: Readonly<Record<LuaInterpreter, string>>;
  /** Absolute path of the busted runner script (run as `<interpreter> <busted>`). */
  readonly busted: string;
}

/** The client kit folder (busted runs there; see client-kit/.busted). */
export const CLIENT_KIT_DIR = join(__dirname, '..', '..', 'client-kit');

function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/** What is missing, as readable names; empty when the toolchain is complete. */
function missing(): string[] {
  const gaps: string[] = [];
  for (const interpreter of LUA_INTERPRETERS) {
    const path = which(interpreter);
    if (!path) {
      gaps.push(interpreter);
      continue;
    }
    const probe = spawnSync(path, ['-e', 'require("cjson"); require("socket.http"); require("bit"); require("busted.runner")'], { encoding: 'utf8' });
    if (probe.status !== 0) gaps.push(`Lua modules for ${interpreter} (${probe.stderr.trim().split('\n')[0]})`);
  }
  if (!which('busted')) gaps.push('busted');
  return gaps;
}

function canInstall(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0 && which('apt-get') !== undefined;
}

/**
 * The toolchain, installed first when missing and allowed (root + apt-get).
 * @throws Error naming what is missing and the one-line install command.
 */
export function luaToolchain(): LuaToolchain {
  let gaps = missing();
  if (gaps.length > 0 && canInstall()) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 600_000 });
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...LUA_PACKAGES], { stdio: 'ignore', env, timeout: 600_000 });
    gaps = missing();
  }
  if (gaps.length > 0) {
    throw new Error(`The client kit's tests need ${gaps.join(', ')}. Install them with: ${LUA_INSTALL_COMMAND}`);
  }
  return {
    interpreters: { 'lua5.1': which('lua5.1') as string, luajit: which('luajit') as string },
    busted: which('busted') as string,
  };
}

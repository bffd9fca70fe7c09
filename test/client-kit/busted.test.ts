/**
 * The client kit's busted suites (client-kit/spec) under both interpreters a Defold game runs Lua
 * on: LuaJIT 2.1 (native platforms) and PUC Lua 5.1 (HTML5). A missing interpreter fails the test
 * with the install command; it is never skipped.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_KIT_DIR, LUA_INTERPRETERS, luaToolchain } from '../helpers/lua-toolchain';

interface BustedJson {
  readonly successes: readonly { readonly name: string }[];
  readonly failures: readonly { readonly name: string; readonly message: string }[];
  readonly errors: readonly { readonly name: string; readonly message: string }[];
  readonly pending: readonly { readonly name: string }[];
}

const SPEC_DIR = join(CLIENT_KIT_DIR, 'spec');

/** How many tests the specs declare: every literal `it("…"` plus one per pointer fixture. */
function declaredTests(): number {
  const literal = readdirSync(SPEC_DIR)
    .filter((f) => f.endsWith('_spec.lua'))
    .reduce((n, f) => n + (readFileSync(join(SPEC_DIR, f), 'utf8').match(/^\s*it\("/gm) ?? []).length, 0);
  const index = JSON.parse(readFileSync(join(SPEC_DIR, 'fixtures', 'pointers', 'index.json'), 'utf8')) as { fixtures: unknown[] };
  return literal + index.fixtures.length;
}

describe('client kit busted suites', () => {
  const toolchain = luaToolchain();

  it.each(LUA_INTERPRETERS)('pass under %s', (interpreter) => {
    const run = spawnSync(toolchain.interpreters[interpreter], [toolchain.busted, '-o', 'json'], {
      cwd: CLIENT_KIT_DIR, encoding: 'utf8', timeout: 300_000, env: { ...process.env, LUP_EXPECT_INTERPRETER: interpreter },
    });
    const jsonLine = run.stdout.split('\n').find((line) => line.startsWith('{'));
    if (!jsonLine) throw new Error(`busted under ${interpreter} printed no JSON (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
    const raw = JSON.parse(jsonLine) as Record<keyof BustedJson, unknown>;
    // busted encodes an empty list as {} (lua-cjson cannot tell an empty array from an empty object)
    const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : Object.values((v ?? {}) as Record<string, T>));
    const report: BustedJson = { successes: list(raw.successes), failures: list(raw.failures), errors: list(raw.errors), pending: list(raw.pending) };
    const failed = [...report.failures, ...report.errors];
    process.stdout.write(`busted (${interpreter}): ${report.successes.length} passed, ${failed.length} failed, ${report.pending.length} pending\n`);
    expect(failed.map((f) => `${f.name}: ${f.message}`)).toEqual([]);
    expect(report.pending).toEqual([]);
    expect(report.successes).toHaveLength(declaredTests());
    expect(run.status).toBe(0);
  });
});

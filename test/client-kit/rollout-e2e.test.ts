/**
 * Staged rollouts end to end: a real `lup local` (a separate process), `lup rollout` operations, and
 * a population of app installs running the Lua client kit (client-kit/e2e/population.lua: one save
 * folder and persisted install id each, real HTTP, real SHA-256) under lua5.1 and luajit.
 *
 * start → widen → halt → abort, then start → complete. After each step every install's mounted
 * release is the one the cohort rule gives it (the TypeScript rule, as an independent check of the
 * Lua one on random ids), the observed share of the candidate is within 4 binomial standard
 * deviations of the target, installs never go to a lower sequence, widening only adds installs,
 * halted installs keep the candidate, and abort brings everyone back to the stable release.
 */
import { spawn } from 'node:child_process';
import { startLupLocal, stopLupLocal, type LupLocalProcess } from '../helpers/lup-process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pointerCodec, type ChannelPointer } from '../../lib/core/documents/pointer';
import { takesCandidate } from '../../lib/core/documents/cohort';
import { runCli } from '../../lib/cli/run';
import { captureIo } from '../helpers/cli-run';
import { CLIENT_KIT_DIR, LUA_INTERPRETERS, luaToolchain, type LuaInterpreter } from '../helpers/lua-toolchain';

jest.setTimeout(600_000);

const ROOT = join(__dirname, '..', '..');
const V1 = join(ROOT, 'examples', 'sample-game', 'v1', 'sample.zip');
const V2 = join(ROOT, 'examples', 'sample-game', 'v2', 'sample.zip');
const ENGINE_VERSION = '1.9.0';
/** Installs in the population. */
const POPULATION = 400;

interface Install {
  readonly id: string;
  readonly results: { ok: boolean; status?: string; code?: string; message?: string; release_id?: string; sequence?: number; cohort?: string }[];
  readonly mounts: string[];
  readonly state: { sequence?: number; release_id?: string; rollout_salt?: string };
}

const asList = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : Object.values((v ?? {}) as Record<string, T>));

/** |observed − n·p| ≤ 4·√(n·p·(1−p)). */
function withinBinomialBound(observed: number, n: number, p: number): { low: number; high: number; ok: boolean } {
  const sigma = Math.sqrt(n * p * (1 - p));
  const low = n * p - 4 * sigma;
  const high = n * p + 4 * sigma;
  return { low, high, ok: observed >= low && observed <= high };
}

describe.each(LUA_INTERPRETERS)('staged rollout end to end under %s', (interpreter: LuaInterpreter) => {
  const toolchain = luaToolchain();
  const game = `roll-${interpreter.replace('.', '')}`;
  let dir: string;
  let local: LupLocalProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lup-rollout-e2e-'));
    local = await startLupLocal(join(dir, 'data'));
  });

  afterAll(async () => {
    await stopLupLocal(local);
    await rm(dir, { recursive: true, force: true });
  });

  async function lup(args: string[]): Promise<void> {
    const io = captureIo(dir);
    const code = await runCli([...args, '--endpoint', local.s3, '--cdn', local.cdn], io);
    if (code !== 0) throw new Error(`lup ${args.join(' ')} exited ${code}: ${io.err()}`);
  }

  async function served(channel = 'stable'): Promise<ChannelPointer> {
    const response = await fetch(`${local.cdn}channels/${game}/${channel}.json`);
    return pointerCodec.parse(Buffer.from(await response.arrayBuffer()), { key: `channels/${game}/${channel}.json` });
  }

  /**
   * Run one session (start, update) of every install in `population` (a folder of save folders), in
   * two driver processes (each half keeps its folders from call to call).
   */
  async function sessions(population: string, ids: readonly string[]): Promise<Install[]> {
    const half = Math.ceil(ids.length / 2);
    const parts = await Promise.all([sessionsOf(`${population}-0`, ids.slice(0, half)), sessionsOf(`${population}-1`, ids.slice(half))]);
    return parts.flat();
  }

  async function sessionsOf(population: string, ids: readonly string[]): Promise<Install[]> {
    const idsFile = join(dir, `${population}.ids`);
    await writeFile(idsFile, `${ids.join('\n')}\n`);
    const child = spawn(toolchain.interpreters[interpreter], ['e2e/population.lua', local.cdn, join(dir, population), ENGINE_VERSION, game, idsFile, 'start', 'update'], { cwd: CLIENT_KIT_DIR });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearTimeout(timer);
    const line = stdout.trim().split('\n').pop() ?? '';
    if (status !== 0 || !line.startsWith('{')) throw new Error(`population driver exited ${status}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
    return asList<Install>((JSON.parse(line) as { installs: unknown }).installs).map((i) => ({ ...i, results: asList(i.results), mounts: asList<string>(i.mounts).sort() }));
  }

  const mountsOf = (release: Pick<ChannelPointer, 'archives'>): string[] => release.archives.map((a) => `lup_${a.sha256.slice(0, 16)}_${a.priority}`).sort();

  /**
   * Every install applied `pointer` (its sequence) and mounts the release the cohort rule gives it:
   * the candidate when it takes it now or `kept` says it has it (halted), the stable one otherwise.
   * Returns the ids on the candidate.
   */
  function expectCohorts(installs: readonly Install[], pointer: ChannelPointer, kept: ReadonlySet<string> = new Set()): Set<string> {
    const onCandidate = new Set<string>();
    const wrong: string[] = [];
    for (const install of installs) {
      const last = install.results[install.results.length - 1];
      if (!last.ok) wrong.push(`${install.id}: ${last.code} ${last.message}`);
      const candidate = pointer.rollout !== undefined && (takesCandidate(pointer.rollout, install.id) || kept.has(install.id));
      const release = candidate ? pointer.rollout! : pointer;
      if (install.state.sequence !== pointer.sequence || install.state.release_id !== release.releaseId || JSON.stringify(install.mounts) !== JSON.stringify(mountsOf(release))) {
        wrong.push(`${install.id}: expected ${release.releaseId} at ${pointer.sequence}, has ${install.state.release_id} at ${install.state.sequence} mounting ${install.mounts.join(',')}`);
      }
      if (install.state.release_id === pointer.rollout?.releaseId) onCandidate.add(install.id);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    return onCandidate;
  }

  function expectShare(observed: number, n: number, basisPoints: number, what: string): void {
    const bound = withinBinomialBound(observed, n, basisPoints / 10_000);
    process.stdout.write(`rollout e2e (${interpreter}) ${what}: ${observed} of ${n} installs on the candidate (target ${basisPoints / 100} %, 4-sigma bound ${bound.low.toFixed(1)}..${bound.high.toFixed(1)})\n`);
    expect(bound.ok).toBe(true);
  }

  it('start → widen → halt → abort, then start → complete, across a population of installs', async () => {
    const ids = Array.from({ length: POPULATION }, () => randomBytes(16).toString('hex'));
    await lup(['publish', V1, '--game', game, '--channel', 'stable']);
    await lup(['publish', V2, '--game', game, '--channel', 'beta']);
    const stableRelease = (await served()).releaseId;
    const candidateRelease = (await served('beta')).releaseId;

    // start at 10 % (the installs' first session; each keeps its install id in its save folder)
    await lup(['rollout', 'start', '--game', game, '--channel', 'stable', '--release', candidateRelease, '--percent', '10']);
    const started = await served();
    expect(started).toMatchObject({ sequence: 2, releaseId: stableRelease, rollout: { releaseId: candidateRelease, share: 1000, state: 'active' } });
    let installs = await sessions('pop', ids);
    const at10 = expectCohorts(installs, started);
    expectShare(at10.size, POPULATION, 1000, 'start at 10 %');
    expect(installs.filter((i) => at10.has(i.id)).every((i) => i.results[1].cohort === 'candidate')).toBe(true);

    // widen to 30 %: only adds installs
    await lup(['rollout', 'set', '--game', game, '--channel', 'stable', '--percent', '30']);
    const widened = await served();
    installs = await sessions('pop', ids);
    const at30 = expectCohorts(installs, widened);
    expectShare(at30.size, POPULATION, 3000, 'widened to 30 %');
    expect([...at10].filter((id) => !at30.has(id))).toEqual([]);

    // halt: installs that have it keep it; a fresh population in the cohort does not take it
    await lup(['rollout', 'halt', '--game', game, '--channel', 'stable']);
    const halted = await served();
    expect(halted.rollout).toMatchObject({ state: 'halted', share: 3000 });
    installs = await sessions('pop', ids);
    expect(expectCohorts(installs, halted, at30)).toEqual(at30);
    const fresh = Array.from({ length: 60 }, () => randomBytes(16).toString('hex'));
    const newcomers = await sessions('fresh', fresh);
    expect(expectCohorts(newcomers, halted).size).toBe(0);
    expect(fresh.filter((id) => takesCandidate({ ...halted.rollout!, state: 'active' }, id)).length).toBeGreaterThan(0);

    // abort: everyone back to the stable release, at a higher sequence
    await lup(['rollout', 'abort', '--game', game, '--channel', 'stable']);
    const aborted = await served();
    expect(aborted).toMatchObject({ sequence: 5, releaseId: stableRelease, cause: 'rollout-abort' });
    expect(aborted.rollout).toBeUndefined();
    installs = await sessions('pop', ids);
    expect(expectCohorts(installs, aborted).size).toBe(0);
    expect(installs.filter((i) => at30.has(i.id)).every((i) => i.results[1].status === 'updated' && i.results[1].release_id === stableRelease)).toBe(true);

    // a new rollout draws a new cohort, and complete gives everyone the candidate
    await lup(['rollout', 'start', '--game', game, '--channel', 'stable', '--release', candidateRelease, '--percent', '50']);
    const again = await served();
    expect(again.rollout?.salt).not.toBe(started.rollout?.salt);
    installs = await sessions('pop', ids);
    const at50 = expectCohorts(installs, again);
    expectShare(at50.size, POPULATION, 5000, 'second rollout at 50 %');
    await lup(['rollout', 'complete', '--game', game, '--channel', 'stable']);
    const completed = await served();
    expect(completed).toMatchObject({ sequence: 7, releaseId: candidateRelease, cause: 'rollout-complete' });
    installs = await sessions('pop', ids);
    expectCohorts(installs, completed);
    expect(installs.every((i) => i.state.release_id === candidateRelease && i.state.sequence === 7)).toBe(true);
    // those already on the candidate downloaded nothing again: their results say updated at the new sequence
    expect(installs.filter((i) => at50.has(i.id)).every((i) => i.results[1].status === 'updated')).toBe(true);
  });
});

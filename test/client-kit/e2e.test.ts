/**
 * The game side end to end: a real `lup local` (a separate process, as a developer runs it),
 * releases published, rolled back and promoted with `lup`, and the Lua client kit in app sessions
 * (client-kit/e2e/driver.lua: fresh engine stubs per session over one save folder, http.request
 * doing real HTTP with LuaSocket, SHA-256 by coreutils) fetching the pointer through a fault proxy
 * in front of the local CDN. After every session the mounted set and the persisted state must be
 * exactly what the pointer the client should have applied says; under faults (a flipped byte, a
 * short or cut download, an old pointer replayed, 503 before 200) it never mounts bad content,
 * never goes backwards, and recovers.
 */
import { spawn } from 'node:child_process';
import { startLupLocal, stopLupLocal, type LupLocalProcess } from '../helpers/lup-process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import { pointerCodec } from '../../lib/core/documents/pointer';
import { runCli } from '../../lib/cli/run';
import { captureIo } from '../helpers/cli-run';
import { CLIENT_KIT_DIR, LUA_INTERPRETERS, luaToolchain, type LuaInterpreter } from '../helpers/lua-toolchain';

jest.setTimeout(300_000);

const ROOT = join(__dirname, '..', '..');
const V1 = join(ROOT, 'examples', 'sample-game', 'v1', 'sample.zip');
const V2 = join(ROOT, 'examples', 'sample-game', 'v2', 'sample.zip');
/** The sample game's manifests list SHA-1 of "1.9.0" (examples/README.md). */
const ENGINE_VERSION = '1.9.0';

type Fault =
  | { readonly match: RegExp; times: number; readonly kind: 'status'; readonly status: number }
  | { readonly match: RegExp; times: number; readonly kind: 'flip' | 'short' | 'cut' }
  | { readonly match: RegExp; times: number; readonly kind: 'replay'; readonly body: string };

/** An HTTP proxy in front of the CDN that applies the queued faults, then passes requests through. */
class FaultProxy {
  readonly faults: Fault[] = [];
  readonly hits: string[] = [];
  private server?: Server;
  constructor(private readonly upstream: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.hits.push(path);
      const fault = this.faults.find((f) => f.times > 0 && f.match.test(path));
      if (fault) fault.times -= 1;
      if (fault?.kind === 'status') return void res.writeHead(fault.status, { 'content-length': 0 }).end();
      if (fault?.kind === 'replay') return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(fault.body) }).end(fault.body);
      fetch(this.upstream + path.slice(1)).then(async (upstream) => {
        const body = Buffer.from(await upstream.arrayBuffer());
        if (fault?.kind === 'flip') body[Math.floor(body.length / 2)] ^= 0x01;
        if (fault?.kind === 'cut') {
          // announce the whole body, send half, then drop the connection
          res.writeHead(200, { 'content-length': body.length });
          res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
          return;
        }
        const sent = fault?.kind === 'short' ? body.subarray(0, 1000) : body;
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream', 'content-length': sent.length });
        res.end(sent);
      }).catch((error: unknown) => res.writeHead(502).end(String(error)));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** What one app session printed (client-kit/e2e/driver.lua). */
interface Session {
  readonly results: { step: string; result: { ok: boolean; status?: string; code?: string; field?: string; url?: string; expected?: string; actual?: string; sequence?: number } }[];
  readonly mounts: { name: string; uri: string; priority: number; sha256: string }[];
  readonly state: { sequence?: number; release_id?: string; archives?: unknown; files?: unknown };
}

const asList = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : Object.values((v ?? {}) as Record<string, T>));

/** Every key path of a JSON value (array items merged), to compare document shapes. */
function shape(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => shape(v, `${at}[]`)))].sort();
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [`${at}.${k}`, ...shape(v, `${at}.${k}`)]).sort();
  return [];
}

describe.each(LUA_INTERPRETERS)('client kit end to end under %s', (interpreter: LuaInterpreter) => {
  const toolchain = luaToolchain();
  const game = `kit-${interpreter.replace('.', '')}`;
  let dir: string;
  let local: LupLocalProcess;
  let proxy: FaultProxy;
  let proxyUrl: string;
  let saveRoot: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lup-kit-e2e-'));
    saveRoot = join(dir, 'save');
    local = await startLupLocal(join(dir, 'data'));
    proxy = new FaultProxy(local.cdn);
    proxyUrl = await proxy.start();
  });

  afterAll(async () => {
    await proxy?.stop();
    await stopLupLocal(local);
    await rm(dir, { recursive: true, force: true });
  });

  async function lup(args: string[]): Promise<void> {
    const io = captureIo(dir);
    const code = await runCli([...args, '--endpoint', local.s3, '--cdn', local.cdn], io);
    if (code !== 0) throw new Error(`lup ${args.join(' ')} exited ${code}: ${io.err()}`);
  }

  async function served(): Promise<ChannelPointer> {
    const response = await fetch(`${local.cdn}channels/${game}/stable.json`);
    return pointerCodec.parse(Buffer.from(await response.arrayBuffer()), { key: `channels/${game}/stable.json` });
  }

  /** Run one app session (async: the fault proxy lives in this process and must keep serving). */
  async function session(...steps: string[]): Promise<Session> {
    const child = spawn(toolchain.interpreters[interpreter], ['e2e/driver.lua', proxyUrl, saveRoot, ENGINE_VERSION, game, ...steps], { cwd: CLIENT_KIT_DIR });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearTimeout(timer);
    const line = stdout.trim().split('\n').pop() ?? '';
    if (status !== 0 || !line.startsWith('{')) throw new Error(`driver exited ${status}:\n${stdout}\n${stderr}`);
    const out = JSON.parse(line) as Session;
    return { results: asList(out.results), mounts: asList(out.mounts), state: out.state };
  }

  /** The mounted set, the persisted state and the save folder are exactly what `pointer` says. */
  async function expectApplied(out: Session, pointer: ChannelPointer): Promise<void> {
    const archives = [...pointer.archives].sort((a, b) => b.priority - a.priority);
    const file = (sha256: string): string => `lup-${game}-stable-${sha256}.zip`;
    expect(out.mounts).toEqual(archives.map((a) => ({
      name: `lup_${a.sha256.slice(0, 16)}_${a.priority}`, priority: a.priority, sha256: a.sha256, uri: `zip:${join(saveRoot, 'e2e', file(a.sha256))}`,
    })));
    expect(out.state.sequence).toBe(pointer.sequence);
    expect(out.state.release_id).toBe(pointer.releaseId);
    expect(asList<{ sha256: string; size: number; priority: number }>(out.state.archives).map((a) => [a.sha256, a.size, a.priority]))
      .toEqual(pointer.archives.map((a) => [a.sha256, a.sizeBytes, a.priority]));
    expect(asList<string>(out.state.files).sort()).toEqual(pointer.archives.map((a) => file(a.sha256)).sort());
    const onDisk = (await readdir(join(saveRoot, 'e2e'))).filter((f) => f.startsWith(`lup-${game}-`)).sort();
    expect(onDisk).toEqual([...pointer.archives.map((a) => file(a.sha256)), `lup-${game}-stable-state`].sort());
  }

  it('follows releases, a rollback and a promotion, and survives every fault', async () => {
    // GIVEN release 1 on stable
    await lup(['publish', V1, '--game', game, '--channel', 'stable']);
    const first = await served();
    expect(shape(first)).toEqual(shape(JSON.parse(readFileSync(join(CLIENT_KIT_DIR, 'spec', 'fixtures', 'pointers', 'valid-one-archive.json'), 'utf8'))));
    let out = await session('start', 'update');
    expect(out.results.map((r) => r.result.status)).toEqual(['empty', 'updated']);
    await expectApplied(out, first);

    // a second release, then a rollback (sequence 3, release 1 again), then a promotion (sequence 4)
    await lup(['publish', V2, '--game', game, '--channel', 'stable']);
    const second = await served();
    out = await session('start', 'update');
    expect(out.results.map((r) => [r.result.status, r.result.sequence])).toEqual([['mounted', 1], ['updated', 2]]);
    await expectApplied(out, second);

    await lup(['rollback', '--game', game, '--channel', 'stable']);
    const rolledBack = await served();
    expect(rolledBack.sequence).toBe(3);
    expect(rolledBack.archives).toEqual(first.archives);
    out = await session('start', 'update');
    expect(out.results.map((r) => r.result.status)).toEqual(['mounted', 'updated']);
    await expectApplied(out, rolledBack);

    await lup(['publish', V2, '--game', game, '--channel', 'beta']);
    await lup(['promote', '--game', game, '--from', 'beta', '--to', 'stable']);
    const promoted = await served();
    expect(promoted.sequence).toBe(4);
    expect(promoted.cause).toBe('promote');
    out = await session('start', 'update');
    await expectApplied(out, promoted);
    // a session with nothing new re-mounts and stays
    out = await session('start', 'update');
    expect(out.results.map((r) => r.result.status)).toEqual(['mounted', 'up_to_date']);
    await expectApplied(out, promoted);

    // WHEN release 5 (the v1 archive again) is served through faults
    await lup(['publish', V1, '--game', game, '--channel', 'stable']);
    const fifth = await served();
    const archivePath = new RegExp(`^/${fifth.archives[0].path}$`);

    proxy.faults.push({ match: archivePath, times: 1, kind: 'flip' });
    out = await session('start', 'update');
    expect(out.results[1].result).toMatchObject({ ok: false, code: 'VERIFY_MISMATCH', field: 'archives[0].sha256', url: `${proxyUrl}${fifth.archives[0].path}`, expected: fifth.archives[0].sha256 });
    expect(out.results[1].result.actual).toMatch(/^[0-9a-f]{64}$/);
    await expectApplied(out, promoted);

    proxy.faults.push({ match: archivePath, times: 1, kind: 'short' });
    out = await session('start', 'update');
    expect(out.results[1].result).toMatchObject({ ok: false, code: 'VERIFY_MISMATCH', field: 'archives[0].sizeBytes', actual: '1000 bytes' });
    await expectApplied(out, promoted);

    proxy.faults.push({ match: archivePath, times: 10, kind: 'cut' });
    out = await session('start', 'update');
    expect(out.results[1].result).toMatchObject({ ok: false, code: 'DOWNLOAD_FAILED' });
    await expectApplied(out, promoted);
    proxy.faults.length = 0;

    // THEN it recovers: 503 twice on the pointer and once on the archive, then 200
    const hitsBefore = proxy.hits.length;
    proxy.faults.push({ match: /\/channels\//, times: 2, kind: 'status', status: 503 }, { match: archivePath, times: 1, kind: 'status', status: 503 });
    out = await session('start', 'update');
    expect(out.results.map((r) => r.result.status)).toEqual(['mounted', 'updated']);
    expect(proxy.hits.slice(hitsBefore).filter((h) => h.includes('/channels/'))).toHaveLength(3);
    await expectApplied(out, fifth);

    // and never goes backwards: an old pointer replayed (sequence 2) is refused
    proxy.faults.push({ match: /\/channels\//, times: 1, kind: 'replay', body: pointerCodec.encode(second) });
    out = await session('start', 'update');
    expect(out.results[1].result).toMatchObject({ ok: false, code: 'POINTER_DOWNGRADE', field: 'sequence', actual: '2' });
    await expectApplied(out, fifth);
  });
});

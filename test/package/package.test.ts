/**
 * The package as users get it (issue 11): `npm pack`, install the tarball into an empty folder,
 * and run the installed `lup`, not the checkout: --help, validate on a fixture, and publish +
 * verify against a `lup local` started from the installed package. Slow (it builds the package):
 * `npm run test:package`, run by .ci/run.
 *
 * The installed package runs under the current Node and under Node 22 and 24 (README: "Requirements"),
 * whose official binaries come from the npm registry (`node-<platform>-<arch>@<major>`, fetched once
 * into the npm cache with `npm pack`): the tarball is packed and installed once, then each Node runs it.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from '../helpers/lup-process';

const SAMPLE = join(ROOT, 'examples', 'sample-game', 'v1', 'sample.zip');

/** The Node majors the package is tested under besides the current one. */
const NODE_MAJORS = [22, 24] as const;

let packDir: string;
let dir: string;
let lupBin: string;
let tarballFiles: string[];

beforeAll(async () => {
  packDir = await mkdtemp(join(tmpdir(), 'lup-package-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as { filename: string; files: { path: string }[] }[];
  tarballFiles = packed[0].files.map((f) => f.path);
  // An empty project of a studio's CI, installing only the tarball (from the npm cache when it can).
  dir = join(packDir, 'app');
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'studio-ci', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(packDir, packed[0].filename)], { cwd: dir, stdio: 'ignore' });
  lupBin = join(dir, 'node_modules', '.bin', 'lup');
});
afterAll(async () => {
  await rm(packDir, { recursive: true, force: true });
});

/** The official `node` binary of a major version, from the npm package that carries it. */
function nodeBinary(major: number): string {
  const target = join(packDir, `node${major}`);
  execFileSync('mkdir', ['-p', target]);
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--prefer-offline', '--pack-destination', target, `node-${process.platform}-${process.arch}@${major}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as { filename: string }[];
  execFileSync('tar', ['-xzf', join(target, packed.filename), '-C', target, 'package/bin/node']);
  return join(target, 'package', 'bin', 'node');
}

const RUNTIMES: [string, number | undefined][] = [['the current Node', undefined], ...NODE_MAJORS.map((major): [string, number] => [`Node ${major}`, major])];

describe.each(RUNTIMES)('the packed and installed package under %s', (_name, major) => {
  /** How to start the installed `lup`: its bin under the current Node, or its entry under another. */
  let command: { file: string; prefix: string[] };
  beforeAll(() => {
    if (major === undefined) {
      command = { file: lupBin, prefix: [] };
      return;
    }
    const node = nodeBinary(major);
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' })).toMatch(new RegExp(`^v${major}\\.`));
    command = { file: node, prefix: [join(dir, 'node_modules', 'defold-liveupdate-pipeline', 'dist', 'bin', 'lup.js')] };
  });

  const run = (args: string[]): { code: number; stdout: string; stderr: string } => {
    try {
      const stdout = execFileSync(command.file, [...command.prefix, ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { code: 0, stdout, stderr: '' };
    } catch (error) {
      const e = error as { status: number; stdout: string; stderr: string };
      return { code: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('carries the compiled CLI and the prebuilt handlers, and no tests, fixtures or benches', () => {
    expect(tarballFiles).toEqual(expect.arrayContaining(['dist/bin/lup.js', 'dist/handlers/archive/index.js', 'package.json']));
    expect(tarballFiles.filter((f) => /^(test|bench|scripts|lib|lambda)\//.test(f) || f.endsWith('.ts'))).toEqual([]);
  });

  it('installs without tsx and runs lup --help', async () => {
    expect(await readdir(join(dir, 'node_modules'))).not.toContain('tsx');
    const help = run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: lup [options] [command]');
  });

  it('validates a fixture', () => {
    const result = run(['validate', SAMPLE]);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('valid — zip') });
  });

  it('publishes to and verifies a lup local started from the installed package', async () => {
    const child: ChildProcessWithoutNullStreams = spawn(command.file, [...command.prefix, 'local', '--data-dir', join(dir, `data-${major ?? 'current'}`), '--s3-port', '0', '--cdn-port', '0', '--json', '--quiet'], { cwd: dir });
    try {
      const ready = await new Promise<{ s3: string; cdn: string }>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`lup local exited early with ${code}`)));
        createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
      });
      const published = run(['publish', SAMPLE, '--game', 'sample', '--channel', 'stable', '--endpoint', ready.s3, '--json']);
      expect(published.code).toBe(0);
      expect(JSON.parse(published.stdout)).toMatchObject({ state: 'live', pointerUrl: `${ready.cdn}channels/sample/stable.json` });
      const verified = run(['verify', '--game', 'sample', '--channel', 'stable', '--endpoint', ready.s3, '--json']);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, cdnBaseUrl: ready.cdn });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
  });
});

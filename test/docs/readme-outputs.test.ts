/**
 * The outputs README.md shows are the outputs of real runs (issue 11). Every block between
 *
 *   <!-- generated: test/docs/readme-outputs.test.ts -->  and  <!-- /generated -->
 *
 * is a `console` block of `$ npx lup …` commands, each followed by what it prints (stdout and
 * stderr, in the order written). The test runs each command from the sources (tsx, as
 * test/helpers/lup-process.ts does), in README order, against two real `lup local` processes on
 * ephemeral ports, and compares. `UPDATE_README=1 npx jest test/docs` rewrites the blocks instead.
 *
 * Normalised, because they vary from run to run and nothing else does:
 * - ports: the README's `--endpoint http://127.0.0.1:4569` names the development-mode stack
 *   (`npx lup local`), `:4571` the stack started with `--config examples/studio.json` (the README
 *   says how); the test passes the real endpoints, and writes the real S3 and CDN addresses back
 *   as 4569/4570 and 4571/4572;
 * - release and upload ids (`20261127t095839-mt3ysc`): compared by order of first appearance in
 *   a block, so the README's ids stand for the run's ids (and are kept on regeneration);
 * - the checkout's path (absolute paths in local-check errors): written as /home/me/lup.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LUP_NODE_ARGS, ROOT, startLupLocal, stopLupLocal, type LupLocalProcess } from '../helpers/lup-process';

const README = join(ROOT, 'README.md');
const BLOCK = /(<!-- generated: test\/docs\/readme-outputs\.test\.ts -->\n```console\n)([\s\S]*?)(```\n<!-- \/generated -->)/g;
const ID = /\b\d{8}t\d{6}-[a-z0-9]{6}\b/g;
const SHOWN_ROOT = '/home/me/lup';
const DEV = { s3: 'http://127.0.0.1:4569', cdn: 'http://127.0.0.1:4570/' };
const STUDIO = { s3: 'http://127.0.0.1:4571', cdn: 'http://127.0.0.1:4572/' };

/** One `$ command` of a block and the lines shown after it. */
interface Step {
  readonly command: string;
  readonly output: string;
}

function parseBlock(body: string): Step[] {
  const steps: { command: string[]; output: string[] }[] = [];
  let continued = false;
  for (const line of body.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) {
      steps.push({ command: [line.slice(2)], output: [] });
      continued = line.endsWith('\\');
    } else if (continued) {
      steps[steps.length - 1].command.push(line);
      continued = line.endsWith('\\');
    } else if (steps.length === 0) {
      throw new Error(`a generated README block must start with "$ npx lup …", not: ${line}`);
    } else {
      steps[steps.length - 1].output.push(line);
    }
  }
  return steps.map((s) => ({ command: s.command.join('\n'), output: s.output.join('\n').replace(/\n+$/, '') }));
}

function renderBlock(steps: readonly Step[]): string {
  return steps.map((s) => `$ ${s.command}\n${s.output ? `${s.output}\n` : ''}`).join('\n');
}

/** Replace ids by `<id-1>`, `<id-2>`… in order of first appearance; return the text and the ids. */
function numberIds(text: string): { text: string; ids: string[] } {
  const ids: string[] = [];
  const numbered = text.replace(ID, (id) => {
    if (!ids.includes(id)) ids.push(id);
    return `<id-${ids.indexOf(id) + 1}>`;
  });
  return { text: numbered, ids };
}

describe('README.md outputs', () => {
  let dataRoot: string;
  let dev: LupLocalProcess | undefined;
  let studio: LupLocalProcess | undefined;

  beforeAll(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), 'lup-readme-'));
    [dev, studio] = await Promise.all([
      startLupLocal(join(dataRoot, 'dev')),
      startLupLocal(join(dataRoot, 'studio'), ['--config', join(ROOT, 'examples', 'studio.json')]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([stopLupLocal(dev), stopLupLocal(studio)]);
    await rm(dataRoot, { recursive: true, force: true });
  });

  /** Run one README command from the sources; stdout and stderr go to one file, in order. */
  async function run(command: string): Promise<{ code: number; output: string }> {
    const words = command.replace(/\\\n/g, ' ').trim().split(/\s+/);
    if (words[0] !== 'npx' || words[1] !== 'lup') throw new Error(`a generated README block runs only "npx lup …", not: ${command}`);
    if (words.some((w) => /["'`$]/.test(w))) throw new Error(`a generated README command takes no quotes or variables: ${command}`);
    const args = words.slice(2).map((w) => w.replace(DEV.s3, dev!.s3).replace(STUDIO.s3, studio!.s3));
    const file = join(dataRoot, 'output.txt');
    const fd = openSync(file, 'w');
    try {
      const code = await new Promise<number>((resolve, reject) => {
        // The SDK's Node 20 notice (README: "Requirements") is not part of what the README shows.
        const child = spawn(process.execPath, [...LUP_NODE_ARGS, ...args], { cwd: ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NO_COLOR: '1' } });
        child.once('error', reject);
        child.once('exit', (exitCode) => resolve(exitCode ?? -1));
      });
      const raw = await readFile(file, 'utf8');
      const output = raw
        .split(dev!.cdn).join(DEV.cdn).split(dev!.s3).join(DEV.s3)
        .split(studio!.cdn).join(STUDIO.cdn).split(studio!.s3).join(STUDIO.s3)
        .split(ROOT).join(SHOWN_ROOT)
        .replace(/\n+$/, '');
      return { code, output };
    } finally {
      closeSync(fd);
    }
  }

  it('shows what the commands print, and `npm run demo` is the command the quick start describes', async () => {
    const readme = await readFile(README, 'utf8');
    const blocks = [...readme.matchAll(BLOCK)];
    expect(blocks.length).toBeGreaterThanOrEqual(3);

    const regenerated: string[] = [];
    const mismatches: { shown: string; actual: string }[] = [];
    for (const block of blocks) {
      const shown = parseBlock(block[2]);
      const actual: Step[] = [];
      for (const step of shown) {
        const { code, output } = await run(step.command);
        // A usage error (exit 2) is never what an example means to show.
        expect({ command: step.command, code }).not.toEqual({ command: step.command, code: 2 });
        actual.push({ command: step.command, output });
      }
      const shownText = numberIds(renderBlock(shown));
      const actualText = numberIds(renderBlock(actual));
      if (shownText.text !== actualText.text) mismatches.push({ shown: shownText.text, actual: actualText.text });
      // Regenerated with the README's ids where it has them, so a rerun changes nothing.
      regenerated.push(actualText.text.replace(/<id-(\d+)>/g, (_, n: string) => shownText.ids[Number(n) - 1] ?? actualText.ids[Number(n) - 1]));
    }

    if (process.env.UPDATE_README === '1') {
      let i = 0;
      await writeFile(README, readme.replace(BLOCK, (_, open: string, _body: string, close: string) => `${open}${regenerated[i++]}${close}`));
    } else {
      // On a difference: UPDATE_README=1 npx jest test/docs rewrites the blocks from this run.
      expect(mismatches.map((m) => m.actual)).toEqual(mismatches.map((m) => m.shown));
    }

    const demo = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).scripts.demo as string;
    const publish = /tsx bin\/lup\.ts (publish [^&]*?)\s*&&/.exec(demo)?.[1];
    expect(publish).toBeDefined();
    expect(readme.replace(/\s+/g, ' ')).toContain(`\`npm run demo\` runs \`lup ${publish}\``);
  });
});

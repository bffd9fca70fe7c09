/**
 * Messages that disagreed with the program (issue 11): each names the flag and the fix.
 */
import { lup } from '../helpers/cli-run';

describe('usage errors', () => {
  it('suggests --channel for --chanel, even though --channel is then missing', async () => {
    const run = await lup(['publish', 'x.zip', '--game', 'g', '--chanel', 'stable']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error: unknown option '--chanel' (did you mean --channel?)");
  });

  it('prints a JSON document on stdout with --json', async () => {
    const run = await lup(['status', '--game', 'Bad Id', '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({ ok: false, error: { code: 'USAGE_INVALID', message: expect.stringContaining('--game "Bad Id" is not a valid id') } });
  });
});

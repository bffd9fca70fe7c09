import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defineStudioApp } from '../../lib/constructs/studio-app';
import { loadStudioConfig } from '../../lib/constructs/studio-config-source';
import { CDK_CONTEXT } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');

/** The CDK app in-process, as `cdk synth -c …` runs it, without bundling. */
function appWith(context: Record<string, unknown>): App {
  return new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
}

describe(defineStudioApp, () => {
  test('refuses to synthesise without a configuration, saying how to give one or ask for the example', () => {
    const app = appWith({});
    const defined = defineStudioApp(app);
    expect(defined).toEqual({ ok: false, message: expect.stringContaining('No studio configuration given: pass -c config=path/to/studio.json') });
    if (defined.ok) throw new Error('unreachable');
    expect(defined.message).toContain('-c example=true');
    expect(app.node.children).toEqual([]);
  });

  test('builds the example studio only with -c example=true', () => {
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const defined = defineStudioApp(appWith({ example: 'true' }));
      expect(defined.ok && defined.stack.stackName).toBe('Lup-example-studio');
    } finally {
      process.chdir(cwd);
    }
  });

  test('builds the stack of -c config and of -c studioConfig', () => {
    const fromFile = defineStudioApp(appWith({ config: path.join(ROOT, 'examples', 'studio.json') }));
    expect(fromFile.ok && fromFile.stack.stackName).toBe('Lup-example-studio');
    const inline = defineStudioApp(appWith({ studioConfig: JSON.stringify({ studio: 'acme', games: [{ id: 'g1', projectTitle: 'Space Game' }] }) }));
    expect(inline.ok && inline.stack.stackName).toBe('Lup-acme');
  });

  test.each([
    ['example', 'yes', '-c example="yes" is not known'],
    ['operatorMfa', 'no', '-c operatorMfa="no" is not known'],
    ['publisherScope', 'team', '-c publisherScope="team" is not known'],
    ['operatorPrincipals', 'ci-bot', '-c operatorPrincipals: "ci-bot" is not an IAM role, user or account root ARN'],
    ['operatorPrincipals', '', '-c operatorPrincipals: "" is not an IAM role, user or account root ARN'],
  ])('names a wrong -c %s', (key, value, message) => {
    const defined = defineStudioApp(appWith({ config: path.join(ROOT, 'examples', 'studio.json'), [key]: value }));
    expect(defined).toEqual({ ok: false, message: expect.stringContaining(message) });
  });

  test('-c operatorPrincipals=arn1,arn2 trusts exactly those principals in the operator role (MFA still required)', () => {
    const ci = 'arn:aws:iam::123456789012:role/ci-deployer';
    const oncall = 'arn:aws:iam::123456789012:user/oncall';
    const defined = defineStudioApp(appWith({ config: path.join(ROOT, 'examples', 'studio.json'), operatorPrincipals: `${ci}, ${oncall}` }));
    if (!defined.ok) throw new Error(defined.message);
    const operator = Object.values(Template.fromStack(defined.stack).findResources('AWS::IAM::Role'))
      .find((r) => String(r.Properties.Description).startsWith('LiveUpdate operator'));
    const trusted = (operator!.Properties.AssumeRolePolicyDocument.Statement as { Principal: { AWS: unknown }; Condition?: unknown }[]);
    expect(trusted.flatMap((t) => t.Principal.AWS)).toEqual([ci, oncall]);
    expect(trusted.every((t) => JSON.stringify(t.Condition) === JSON.stringify({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } }))).toBe(true);
  });
});

describe(loadStudioConfig, () => {
  test('without a file or JSON, is a usage error naming -c config', () => {
    expect(loadStudioConfig({ cwd: ROOT })).toMatchObject({ ok: false, errors: [{ code: 'USAGE_INVALID', location: { flag: '-c config' } }] });
  });
});

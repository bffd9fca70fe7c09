import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StudioConfig } from '../../lib/core/config';
import { liveUpdateSettingsFor, StudioStack, StudioStackProps } from '../../lib/constructs/studio-stack';
import { allowedPairs, exampleConfig, findCycle, identityStatements, logicalId, testApp, text } from './helpers';

function deploy(props: Partial<StudioStackProps> = {}, app: App = testApp()) {
  const stack = new StudioStack(app, 'Lup', { config: exampleConfig(), ...props });
  const template = Template.fromStack(stack);
  return { app, stack, template };
}

/** Every violation cdk-nag's AwsSolutions pack still reports (errors and warnings) after acknowledgements. */
function nagFindings(app: App): string[] {
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

let shared: ReturnType<typeof deploy>;
beforeAll(() => {
  shared = deploy();
});

describe(StudioStack, () => {
  test('cdk-nag AwsSolutions reports zero unacknowledged findings', () => {
    expect(nagFindings(shared.app)).toEqual([]);
  });

  test.each<[string, Partial<StudioStackProps>, Partial<StudioConfig>]>([
    ['one publisher per game', { publisherScope: 'game' }, {}],
    ['publicRead off, no editor compatibility, no access key', {}, { publicRead: false, editorCompatibility: false, publisherAccessKey: false }],
  ])('cdk-nag stays clean with %s', (_name, props, config) => {
    const { app } = deploy({ ...props, config: exampleConfig(config as Record<string, unknown>) });
    expect(nagFindings(app)).toEqual([]);
  });

  test('a 200-game studio synthesizes with cdk-nag clean', () => {
    const base = exampleConfig();
    const games = Array.from({ length: 200 }, (_, i) => ({ ...base.games[1], id: `game-${i}` }));
    const { app } = deploy({ config: { ...base, games } });
    expect(nagFindings(app)).toEqual([]);
  });

  test('the cdk-nag check fails on an unacknowledged wildcard (the check can fail)', () => {
    const { app, stack } = (() => {
      const a = testApp();
      const s = new StudioStack(a, 'Lup', { config: exampleConfig() });
      s.operator.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [s.content.bucket.arnForObjects('quarantine/*')] }));
      return { app: a, stack: s };
    })();
    Template.fromStack(stack);
    expect(nagFindings(app)).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<ContentBucket\w+\.Arn>\/quarantine\/\*\] at Lup\/Operator\/Role/)]);
  });

  test('synthesis through the validation plugin succeeds (the path `cdk synth` takes)', () => {
    const app = testApp();
    new StudioStack(app, 'Lup', { config: exampleConfig() });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test('every acknowledgement carries a concrete reason', () => {
    const reasons = shared.stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(reasons.length).toBeGreaterThan(10);
    for (const [id, reason] of reasons) {
      expect({ id, long: reason.length >= 60 }).toEqual({ id, long: true });
    }
  });

  test('outputs bucket, CDN base URL, publisher secret ARN, operator role, control function and the liveupdate.settings values', () => {
    const outputs = shared.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const value = (id: string) => text(outputs[id]?.Value);
    const bucket = `<${logicalId(shared.stack.content.bucket)}>`;
    expect(value('BucketName')).toBe(bucket);
    expect(value('CdnBaseUrl')).toBe(`https://<${logicalId(shared.stack.cdn.distribution)}.DomainName>/`);
    expect(value('PublisherSecretArn')).toBe(`<${logicalId(shared.stack.publishers['*'].secret!)}>`);
    expect(value('OperatorRoleArn')).toBe(`<${logicalId(shared.stack.operator.role)}.Arn>`);
    expect(value('ControlFunctionName')).toBe(`<${logicalId(shared.stack.pipeline.controlFunction)}>`);
    // One output for all games (CloudFormation allows 200 outputs; a studio may have more games).
    expect(value('LiveUpdateSettings')).toBe(`mode=Amazon amazon-bucket=${bucket} amazon-prefix=staging/<game>/editor`);
    expect(Object.keys(outputs).filter((id) => id.startsWith('LiveUpdateSettings'))).toEqual(['LiveUpdateSettings']);
  });

  test('no output and no environment carries the secret access key', () => {
    const json = shared.template.toJSON();
    expect(JSON.stringify(json.Outputs)).not.toContain('SecretAccessKey');
    const users = Object.entries(json.Resources as Record<string, { Type: string; Properties: unknown }>)
      .filter(([, r]) => r.Type !== 'AWS::SecretsManager::Secret')
      .filter(([, r]) => JSON.stringify(r.Properties ?? {}).includes('SecretAccessKey'))
      .map(([id]) => id);
    expect(users).toEqual([]);
  });

  test('liveUpdateSettingsFor gives the editor prefix of keys.ts, without a trailing slash', () => {
    expect(liveUpdateSettingsFor('my-bucket', 'g1')).toEqual({ mode: 'Amazon', 'amazon-bucket': 'my-bucket', 'amazon-prefix': 'staging/g1/editor' });
  });

  test('one publisher per game: each stages only its own game', () => {
    const { stack, template } = deploy({ publisherScope: 'game' });
    template.resourceCountIs('AWS::IAM::User', 2);
    expect(Object.keys(stack.publishers).sort()).toEqual(['reszip-demo', 'space-game']);
    const pairs = allowedPairs(identityStatements(template, logicalId(stack.publishers['space-game'].user)), stack.content.bucket);
    expect([...pairs].filter((p) => p.startsWith('s3:PutObject'))).toEqual(['s3:PutObject staging/space-game/*']);
    expect(Object.keys(template.toJSON().Outputs).filter((o) => o.startsWith('PublisherSecretArn')).sort()).toEqual([
      'PublisherSecretArnReszipDemo',
      'PublisherSecretArnSpaceGame',
    ]);
  });

  test('the template has no dependency cycle', () => {
    expect(findCycle(shared.template)).toBeUndefined();
  });

  test('lifecycle uses the shortest staging expiry of all games', () => {
    const config = exampleConfig();
    const games = config.games.map((g, i) => ({ ...g, retention: { ...g.retention, stagingExpiryDays: i === 0 ? 9 : 4 } }));
    const { template } = deploy({ config: { ...config, games } });
    const bucket = Object.values(template.findResources('AWS::S3::Bucket')).find((b) => b.Properties.VersioningConfiguration);
    const staging = bucket!.Properties.LifecycleConfiguration.Rules.find((r: { Prefix?: string }) => r.Prefix === 'staging/');
    expect(staging.ExpirationInDays).toBe(4);
  });

  test('refuses an invalid configuration, naming every field at once', () => {
    const config = exampleConfig();
    const bad = {
      ...config,
      games: [
        { ...config.games[0], projectTitle: '' },
        { ...config.games[1], id: config.games[0].id, publicKey: 'bm90IGEga2V5' },
      ],
    } as StudioConfig;
    expect(() => new StudioStack(new App(), 'Lup', { config: bad })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        problems: expect.arrayContaining([
          expect.objectContaining({ location: { field: 'games[0].projectTitle' } }),
          expect.objectContaining({ code: 'PUBLIC_KEY_INVALID', location: { field: 'games[1].publicKey' } }),
          expect.objectContaining({ location: { field: 'games[1].id' } }),
        ]),
      }),
    );
  });
});

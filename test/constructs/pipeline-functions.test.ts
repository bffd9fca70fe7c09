import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stage } from 'aws-cdk-lib';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { ContentBucket } from '../../lib/constructs/content-bucket';
import {
  DEFAULT_FUNCTION_SIZING,
  PIPELINE_ACCESS,
  PipelineFunctionName,
  PipelineFunctions,
  PipelineFunctionsProps,
} from '../../lib/constructs/pipeline-functions';
import { ROUTES } from '../../lib/routes';
import { keys } from '../../lib/core/keys';
import { LAMBDA_ENV } from '../../lambda/environment';
import { allowedPairs, exampleConfig, identityStatements, logicalId, patternMatches, testStack, text } from './helpers';

const NAMES: PipelineFunctionName[] = ['resource', 'archive', 'manifest', 'release', 'control', 'sweeper'];

function deploy(props: Partial<PipelineFunctionsProps> = {}) {
  const stack = testStack();
  const { bucket } = new ContentBucket(stack, 'Content');
  const distribution = new cloudfront.Distribution(stack, 'Cdn', { defaultBehavior: { origin: origins.S3BucketOrigin.withOriginAccessControl(bucket) } });
  const pipeline = new PipelineFunctions(stack, 'Pipeline', {
    bucket,
    config: exampleConfig(),
    cdnBaseUrl: `https://${distribution.distributionDomainName}/`,
    distribution,
    ...props,
  });
  const template = Template.fromStack(stack);
  return { stack, bucket, distribution, pipeline, template };
}

// One synthesis shared by the read-only assertions below (each synthesis takes seconds).
let shared: ReturnType<typeof deploy>;
beforeAll(() => {
  shared = deploy();
});

function functionProps(name: PipelineFunctionName) {
  return shared.template.toJSON().Resources[logicalId(shared.pipeline.functions[name])].Properties;
}

function roleOf(fnProps: { Role: unknown }): string {
  return text(fnProps.Role).replace(/^<(.*)\.Arn>$/, '$1');
}

function pairsOf(name: PipelineFunctionName): Set<string> {
  const statements = identityStatements(shared.template, roleOf(functionProps(name)));
  return allowedPairs(statements, shared.bucket);
}

/**
 * The routes the stack must notify, written out (lib/routes.ts is the code under test): the
 * Defold editor's manifest since bob ~1.9.6 is `<prefix>/null` (docs/defold-format.md).
 */
const EXPECTED_ROUTES: readonly [PipelineFunctionName & ('archive' | 'manifest' | 'release' | 'resource'), string, string][] = [
  ['archive', 'staging/', '.zip'],
  ['manifest', 'staging/', '.dmanifest'],
  ['manifest', 'staging/', '/null'],
  ['release', 'staging/', 'release-request.json'],
  ['release', 'state/_attempts/', '.attempt'],
  ...'0123456789abcdef'.split('').map((d): ['resource', string, string] => ['resource', 'staging/', d]),
];

describe(PipelineFunctions, () => {
  test.each(NAMES)('the %s function runs Node.js 24 on arm64 with its bounded memory and timeout', (name) => {
    expect(functionProps(name)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: DEFAULT_FUNCTION_SIZING[name].memoryMiB,
      Timeout: DEFAULT_FUNCTION_SIZING[name].timeout.toSeconds(),
    });
  });

  test('the archive step gets the most: 1024 MB and 5 minutes', () => {
    expect(functionProps('archive')).toMatchObject({ MemorySize: 1024, Timeout: 300 });
  });

  test.each(NAMES)('the %s function gets the environment of lambda/environment.ts', (name) => {
    const env = functionProps(name).Environment.Variables;
    expect(Object.keys(env).sort()).toEqual([...Object.values(LAMBDA_ENV), 'NODE_OPTIONS'].sort());
    // The configuration itself travels in the layer; the environment names it and pins its digest.
    expect(env[LAMBDA_ENV.studioConfigFile]).toBe('/opt/lup/studio-config.json');
    expect(env[LAMBDA_ENV.studioConfigSha256]).toBe(createHash('sha256').update(JSON.stringify(exampleConfig())).digest('hex'));
    const layers = functionProps(name).Layers.map(text);
    expect(layers).toHaveLength(1);
    const layer = shared.template.toJSON().Resources[layers[0].slice(1, -1)];
    expect(layer).toMatchObject({ Type: 'AWS::Lambda::LayerVersion', Properties: { CompatibleRuntimes: ['nodejs24.x'], CompatibleArchitectures: ['arm64'] } });
    // The asset folder holds exactly the configuration, byte for byte.
    const asset = shared.pipeline.node.findChild('StudioConfig').node.findChild('Code') as Asset;
    expect(readFileSync(join(Stage.of(shared.stack)!.outdir, asset.assetPath, 'lup', 'studio-config.json'), 'utf8')).toBe(JSON.stringify(exampleConfig()));
    expect(text(env[LAMBDA_ENV.bucketName])).toBe(`<${logicalId(shared.bucket)}>`);
    expect(text(env[LAMBDA_ENV.distributionId])).toBe(`<${logicalId(shared.distribution)}>`);
  });

  test.each(NAMES)('the %s function may touch exactly the prefixes of PIPELINE_ACCESS', (name) => {
    const access = PIPELINE_ACCESS[name];
    const expected = [
      ...access.read.map((p) => `s3:GetObject ${p}`),
      ...access.write.map((p) => `s3:PutObject ${p}`),
      ...access.delete.map((p) => `s3:DeleteObject ${p}`),
      's3:ListBucket <bucket>',
    ];
    const s3Pairs = [...pairsOf(name)].filter((p) => p.startsWith('s3:'));
    expect(s3Pairs.sort()).toEqual(expected.sort());
  });

  /**
   * The access matrix, written out literally (issue 9): what each function's synthesized role may
   * do in the bucket, besides listing it. Staging steps hold no flip grant (channels/, releases/,
   * content/, invalidation); only release, sweeper and control may move a pointer.
   */
  const STAGING = [
    's3:GetObject staging/*', 's3:GetObject state/*', 's3:GetObject status/*',
    's3:PutObject state/*/_verified/*', 's3:PutObject state/*/_archives/*.json', 's3:PutObject state/*/_manifests/*.json',
    's3:PutObject state/*/_editor/candidate.json', 's3:PutObject state/_pending/*', 's3:PutObject state/_attempts/*',
    's3:PutObject status/*', 's3:PutObject quarantine/*',
    's3:DeleteObject staging/*', 's3:DeleteObject state/_pending/*', 's3:DeleteObject status/*/editor-*',
  ];
  const RELEASING = [
    's3:GetObject staging/*', 's3:GetObject state/*', 's3:GetObject status/*', 's3:GetObject releases/*', 's3:GetObject channels/*', 's3:GetObject content/*',
    's3:PutObject state/*', 's3:PutObject status/*', 's3:PutObject quarantine/*', 's3:PutObject releases/*', 's3:PutObject channels/*',
    's3:PutObject content/*/resources/*', 's3:PutObject content/*/archives/*', 's3:PutObject content/*/manifests/*',
    's3:DeleteObject staging/*', 's3:DeleteObject state/_pending/*', 's3:DeleteObject status/*', 's3:DeleteObject state/_attempts/*',
    'cloudfront:CreateInvalidation',
  ];
  const ACCESS_MATRIX: Record<PipelineFunctionName, string[]> = {
    resource: STAGING,
    archive: STAGING,
    manifest: STAGING,
    release: RELEASING,
    sweeper: RELEASING,
    control: [
      's3:GetObject state/*', 's3:GetObject releases/*', 's3:GetObject channels/*', 's3:GetObject content/*',
      's3:PutObject channels/*', 's3:PutObject releases/*', 's3:PutObject state/*',
      's3:DeleteObject content/*', 's3:DeleteObject state/*/_verified/*', 's3:DeleteObject state/*/_archives/*.json',
      's3:DeleteObject state/*/_manifests/*.json', 's3:DeleteObject state/*/_headers/*',
      'cloudfront:CreateInvalidation',
    ],
  };

  test.each(NAMES)('the %s function holds exactly the grants of the written-out access matrix', (name) => {
    const granted = [...pairsOf(name)]
      .filter((p) => !p.startsWith('logs:') && !p.startsWith('sqs:') && p !== 's3:ListBucket <bucket>')
      .map((p) => (p.startsWith('cloudfront:CreateInvalidation ') ? 'cloudfront:CreateInvalidation' : p));
    expect(granted.sort()).toEqual([...ACCESS_MATRIX[name]].sort());
    expect(pairsOf(name)).toContain('s3:ListBucket <bucket>');
  });

  test('invalidation is allowed on this distribution only', () => {
    const distributionArn = `arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<${logicalId(shared.distribution)}>`;
    for (const name of NAMES) {
      for (const p of [...pairsOf(name)].filter((x) => x.startsWith('cloudfront:'))) expect(p).toBe(`cloudfront:CreateInvalidation ${distributionArn}`);
    }
  });

  test('no function holds an s3:* or Resource * grant', () => {
    for (const name of NAMES) {
      expect([...pairsOf(name)].filter((p) => p.split(' ')[0].endsWith(':*') || p.endsWith(' *'))).toEqual([]);
    }
  });

  test('S3 notifications are exactly the written-out routes: count, filters and target step', () => {
    const notifications = Object.values(shared.template.findResources('Custom::S3BucketNotifications'));
    expect(notifications).toHaveLength(1);
    const configs = notifications[0].Properties.NotificationConfiguration.LambdaFunctionConfigurations as {
      Events: string[];
      Filter: { Key: { FilterRules: { Name: string; Value: string }[] } };
      LambdaFunctionArn: unknown;
    }[];
    const actual = configs.map((c) => {
      const rule = (n: string) => c.Filter.Key.FilterRules.find((r) => r.Name.toLowerCase() === n)?.Value;
      return { events: c.Events, prefix: rule('prefix'), suffix: rule('suffix'), target: text(c.LambdaFunctionArn) };
    });
    const expected = EXPECTED_ROUTES.map(([step, prefix, suffix]) => ({
      events: ['s3:ObjectCreated:*'],
      prefix,
      suffix,
      target: `<${logicalId(shared.pipeline.functions[step])}.Arn>`,
    }));
    expect(actual).toHaveLength(EXPECTED_ROUTES.length);
    expect(actual).toEqual(expect.arrayContaining(expected));
    expect(ROUTES).toHaveLength(EXPECTED_ROUTES.length);
  });

  test('no two S3 notification rules overlap (S3 refuses the configuration otherwise)', () => {
    // S3: rules for the same event overlap when one prefix starts the other and one suffix ends
    // the other. https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html
    const configs = Object.values(shared.template.findResources('Custom::S3BucketNotifications'))[0].Properties.NotificationConfiguration.LambdaFunctionConfigurations as {
      Filter: { Key: { FilterRules: { Name: string; Value: string }[] } };
    }[];
    const rules = configs.map((c) => {
      const rule = (n: string) => c.Filter.Key.FilterRules.find((r) => r.Name.toLowerCase() === n)?.Value ?? '';
      return { prefix: rule('prefix'), suffix: rule('suffix') };
    });
    const overlaps = (a: string, b: string, at: 'start' | 'end') => (at === 'start' ? a.startsWith(b) || b.startsWith(a) : a.endsWith(b) || b.endsWith(a));
    const clashes = rules.flatMap((a, i) => rules.slice(i + 1)
      .filter((b) => overlaps(a.prefix, b.prefix, 'start') && overlaps(a.suffix, b.suffix, 'end'))
      .map((b) => `${a.prefix}*${a.suffix} / ${b.prefix}*${b.suffix}`));
    expect(clashes).toEqual([]);
  });

  test('async steps retry twice, then land in an encrypted, TLS-only failure queue', () => {
    const queueId = logicalId(shared.pipeline.failureQueue);
    const configs = Object.values(shared.template.findResources('AWS::Lambda::EventInvokeConfig')).map((r) => r.Properties);
    const asyncNames: PipelineFunctionName[] = ['resource', 'archive', 'manifest', 'release', 'sweeper'];
    expect(configs.map((c) => text(c.FunctionName)).sort()).toEqual(asyncNames.map((n) => `<${logicalId(shared.pipeline.functions[n])}>`).sort());
    for (const c of configs) {
      expect(c).toMatchObject({ MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } } });
    }
    shared.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    const queuePolicy = Object.values(shared.template.findResources('AWS::SQS::QueuePolicy'))[0].Properties.PolicyDocument.Statement;
    expect(queuePolicy).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
  });

  test('the sweeper runs every 5 minutes', () => {
    shared.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(shared.pipeline.functions.sweeper), 'Arn'] } }],
    });
  });

  test('functions log to their own log group and carry no AWS managed policy', () => {
    for (const name of NAMES) {
      expect(functionProps(name).LoggingConfig).toMatchObject({ LogFormat: 'JSON', LogGroup: expect.anything() });
    }
    const roles = Object.values(shared.template.findResources('AWS::IAM::Role')).filter((r) => r.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service === 'lambda.amazonaws.com');
    expect(roles.filter((r) => r.Properties.ManagedPolicyArns)).toHaveLength(1); // CDK's BucketNotificationsHandler only
  });

  test('reports invalid sizing and interval together, naming each prop', () => {
    expect(() => deploy({ sizing: { archive: { memoryMiB: 64, timeout: Duration.minutes(20) } }, sweepInterval: Duration.seconds(30) })).toThrow(
      expect.objectContaining({
        problems: [
          expect.objectContaining({ location: { field: 'Test/Pipeline.sizing.archive.memoryMiB' } }),
          expect.objectContaining({ location: { field: 'Test/Pipeline.sizing.archive.timeout' } }),
          expect.objectContaining({ location: { field: 'Test/Pipeline.sweepInterval' } }),
        ],
      }),
    );
  });

  test('deploys a 200-game studio with keys (once refused: 4 KB of environment fitted about ten)', () => {
    const big = exampleConfig();
    const games = Array.from({ length: 200 }, (_, i) => ({ ...big.games[1], id: `game-${i}` }));
    const { template, pipeline, stack } = deploy({ config: { ...big, games } });
    const env = template.toJSON().Resources[logicalId(pipeline.functions.release)].Properties.Environment.Variables;
    expect(JSON.stringify(env).length).toBeLessThan(1024);
    const asset = pipeline.node.findChild('StudioConfig').node.findChild('Code') as Asset;
    const json = readFileSync(join(Stage.of(stack)!.outdir, asset.assetPath, 'lup', 'studio-config.json'), 'utf8');
    expect(JSON.parse(json).games).toHaveLength(200);
    expect(json.length).toBeGreaterThan(40_000);
  });
});

describe('the control function may delete what garbage collection deletes', () => {
  // Every kind of key collectGarbage deletes (lib/core/pipeline/control.ts): content and its receipts.
  const deleted = [
    keys.resource('g1', 'a'.repeat(40)),
    keys.archive('g1', 'b'.repeat(64)),
    keys.manifest('g1', 'c'.repeat(64)),
    keys.archiveReceipt('g1', 'b'.repeat(64)),
    keys.manifestReceipt('g1', 'c'.repeat(64)),
    keys.headerReceipt('g1', 'a'.repeat(40), 'ed'.repeat(16), 42),
  ];
  test.each(deleted)('%s', (key) => {
    expect(PIPELINE_ACCESS.control.delete.some((pattern) => patternMatches(pattern, key))).toBe(true);
  });
  test('and nothing outside content/ and the receipts', () => {
    for (const key of [keys.pointer('g1', 'stable'), keys.release('g1', 'r1'), keys.gamePin('g1'), keys.status('g1', 'u1'), keys.staged('g1', 'u1', 'x.zip')]) {
      expect(PIPELINE_ACCESS.control.delete.some((pattern) => patternMatches(pattern, key))).toBe(false);
    }
  });
});

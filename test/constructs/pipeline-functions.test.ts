import { Duration } from 'aws-cdk-lib';
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
    expect(JSON.parse(env[LAMBDA_ENV.studioConfig])).toEqual(exampleConfig());
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

  test('each step writes only its own kind of content, and no step deletes content', () => {
    const writesContent = (name: PipelineFunctionName) =>
      PIPELINE_ACCESS[name].write.filter((p) => p.startsWith('content/')).sort();
    expect(writesContent('resource')).toEqual(['content/*/resources/*']);
    expect(writesContent('archive')).toEqual(['content/*/archives/*', 'content/*/manifests/*']);
    expect(writesContent('manifest')).toEqual(['content/*/manifests/*']);
    expect(writesContent('release')).toEqual([]);
    expect(writesContent('sweeper')).toEqual([]);
    for (const name of ['resource', 'archive', 'manifest', 'release', 'sweeper'] as const) {
      expect([...pairsOf(name)].filter((p) => p.startsWith('s3:DeleteObject') && patternMatches(p.split(' ')[1], 'content/g1/resources/ab'))).toEqual([]);
    }
  });

  test('only the control function deletes content, and it never touches staging, status or quarantine', () => {
    expect(NAMES.filter((n) => PIPELINE_ACCESS[n].delete.includes('content/*'))).toEqual(['control']);
    const control = [...pairsOf('control')];
    expect(control.filter((p) => /^s3:\w+ (staging|status|quarantine)\//.test(p))).toEqual([]);
  });

  test('the resource step reads and deletes staging and writes resources, quarantine, status and state', () => {
    const pairs = pairsOf('resource');
    for (const p of ['s3:GetObject staging/*', 's3:DeleteObject staging/*', 's3:PutObject content/*/resources/*', 's3:PutObject quarantine/*', 's3:PutObject status/*', 's3:PutObject state/*']) {
      expect(pairs).toContain(p);
    }
  });

  test('invalidation is allowed on this distribution only, and only to functions that flip pointers', () => {
    const distributionArn = `arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<${logicalId(shared.distribution)}>`;
    for (const name of NAMES) {
      const invalidations = [...pairsOf(name)].filter((p) => p.startsWith('cloudfront:'));
      expect(invalidations).toEqual(PIPELINE_ACCESS[name].invalidate ? [`cloudfront:CreateInvalidation ${distributionArn}`] : []);
    }
    expect(NAMES.filter((n) => PIPELINE_ACCESS[n].invalidate)).toEqual(NAMES);
  });

  test('no function holds an s3:* or Resource * grant', () => {
    for (const name of NAMES) {
      expect([...pairsOf(name)].filter((p) => p.split(' ')[0].endsWith(':*') || p.endsWith(' *'))).toEqual([]);
    }
  });

  test('S3 notifications match ROUTES exactly: count, filters and target step', () => {
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
    const expected = ROUTES.map((r) => ({
      events: ['s3:ObjectCreated:*'],
      prefix: r.prefix,
      suffix: r.suffix,
      target: `<${logicalId(shared.pipeline.functions[r.step])}.Arn>`,
    }));
    expect(actual).toHaveLength(ROUTES.length);
    expect(actual).toEqual(expect.arrayContaining(expected));
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

  test('fails naming config when it does not fit the Lambda environment', () => {
    const big = exampleConfig();
    const games = Array.from({ length: 12 }, (_, i) => ({ ...big.games[1], id: `game-${i}` }));
    expect(() => deploy({ config: { ...big, games } })).toThrow(/Test\/Pipeline\.config[\s\S]*Lambda environment/);
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

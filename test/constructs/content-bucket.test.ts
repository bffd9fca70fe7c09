import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ContentBucket, ContentBucketProps, contentBucketDefaults, PUBLIC_READ_PREFIXES } from '../../lib/constructs/content-bucket';
import { corsPolicy } from '../../lib/http-policy';
import { flatten, FlatStatement, logicalId, objectPatterns, patternMatches, testStack, text } from './helpers';

function deploy(props?: ContentBucketProps) {
  const stack = testStack();
  const content = new ContentBucket(stack, 'Content', props);
  const template = Template.fromStack(stack);
  const policyOf = (bucketId: string): FlatStatement[] => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter(
      (p) => (p.Properties.Bucket as { Ref: string }).Ref === bucketId,
    );
    return policies.flatMap((p) => flatten(p.Properties.PolicyDocument.Statement));
  };
  return { stack, content, template, bucketPolicy: policyOf(logicalId(content.bucket)), logPolicy: policyOf(logicalId(content.logBucket)) };
}

const isAnonymous = (s: FlatStatement) => s.effect === 'Allow' && s.principals.some((p) => p === '*' || p === 'AWS:*');

describe(contentBucketDefaults, () => {
  test('spells the secure defaults once: TLS only, versioned, SSE-S3, ACLs disabled, retained', () => {
    const d = contentBucketDefaults();
    expect(d).toMatchObject({
      enforceSSL: true,
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    expect(d.blockPublicAccess).toMatchObject({ blockPublicAcls: true, ignorePublicAcls: true });
    expect(contentBucketDefaults({ publicRead: false }).blockPublicAccess).toBe(s3.BlockPublicAccess.BLOCK_ALL);
  });

  test('expires staging and quarantine after the configured days', () => {
    const rules = contentBucketDefaults({ stagingExpiryDays: 3 }).lifecycleRules ?? [];
    expect(rules.filter((r) => r.prefix === 'staging/' || r.prefix === 'quarantine/').map((r) => r.expiration?.toDays())).toEqual([3, 3]);
  });
});

describe(ContentBucket, () => {
  test('the anonymous grant is s3:GetObject on exactly content/* and channels/*', () => {
    const { content, bucketPolicy } = deploy();
    const anonymous = bucketPolicy.filter(isAnonymous);
    expect(anonymous.flatMap((s) => s.actions)).toEqual(['s3:GetObject']);
    const patterns = anonymous.flatMap((s) => s.resources);
    expect(objectPatterns(content.bucket, patterns).sort()).toEqual(['channels/*', 'content/*']);
    // Nothing else: every anonymous resource is one of the two object patterns.
    expect(patterns).toHaveLength(2);
    expect(PUBLIC_READ_PREFIXES).toEqual(['content/', 'channels/']);
    expect(content.publicReadStatement).toBeDefined();
  });

  test.each(['staging/g1/u1/liveupdate.game.dmanifest', 'releases/g1/r1.json', 'quarantine/g1/u1/x', 'status/g1/u1.json', 'state/g1/u1/manifest.json'])(
    'never lets anyone read %s anonymously',
    (key) => {
      const { content, bucketPolicy } = deploy();
      const patterns = objectPatterns(content.bucket, bucketPolicy.filter(isAnonymous).flatMap((s) => s.resources));
      expect(patterns.filter((p) => patternMatches(p, key))).toEqual([]);
    },
  );

  test('with publicRead false there is no anonymous grant and all public access is blocked', () => {
    const { content, template, bucketPolicy } = deploy({ publicRead: false });
    expect(bucketPolicy.filter(isAnonymous)).toEqual([]);
    expect(content.publicReadStatement).toBeUndefined();
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
  });

  test('refuses every request without TLS, on both buckets', () => {
    const { bucketPolicy, logPolicy } = deploy();
    for (const policy of [bucketPolicy, logPolicy]) {
      expect(policy).toContainEqual(
        expect.objectContaining({ effect: 'Deny', actions: ['s3:*'], condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  test('is versioned, SSE-S3 encrypted, logs into the log bucket and blocks public ACLs', () => {
    const { content, template } = deploy();
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(content.logBucket) }, LogFilePrefix: 's3/' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false },
    });
  });

  test('the log bucket is private, encrypted and keeps ACLs for CloudFront standard logs', () => {
    const { content, template } = deploy();
    const log = template.toJSON().Resources[logicalId(content.logBucket)].Properties;
    expect(log).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] },
    });
  });

  test('expires staging leftovers and quarantine, noncurrent versions and unfinished multipart uploads', () => {
    const { template } = deploy({ stagingExpiryDays: 5 });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'staging/', ExpirationInDays: 5, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'quarantine/', ExpirationInDays: 5, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'status/', ExpirationInDays: 90, Status: 'Enabled' }),
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }),
        ]),
      },
    });
  });

  test('answers CORS for GET and HEAD from the configured origins (corsPolicy)', () => {
    const { template } = deploy({ corsOrigins: ['https://games.example.com'] });
    const cors = corsPolicy(['https://games.example.com']);
    template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          {
            AllowedMethods: ['GET', 'HEAD'],
            AllowedOrigins: ['https://games.example.com'],
            AllowedHeaders: [...cors.allowHeaders],
            ExposedHeaders: [...cors.exposeHeaders],
            MaxAge: cors.maxAgeSeconds,
          },
        ],
      },
    });
  });

  test('fails naming stagingExpiryDays when it is not a whole number of days', () => {
    expect(() => deploy({ stagingExpiryDays: 0 })).toThrow(/Content\.stagingExpiryDays/);
  });

  test('reports several mistakes together', () => {
    expect(() => deploy({ stagingExpiryDays: 1.5, logRetentionDays: -1, corsOrigins: [] })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        problems: [
          expect.objectContaining({ location: { field: 'Test/Content.stagingExpiryDays' } }),
          expect.objectContaining({ location: { field: 'Test/Content.logRetentionDays' } }),
          expect.objectContaining({ location: { field: 'Test/Content.corsOrigins' } }),
        ],
      }),
    );
  });

  test('exposes the bucket and the log bucket', () => {
    const { content } = deploy();
    expect(content.bucket).toBeDefined();
    expect(content.logBucket).not.toBe(content.bucket);
  });
});

describe('encryption the pipeline cannot read', () => {
  test('is refused for staged uploads: SSE-C and SSE-KMS headers are denied on staging/*, SSE-S3 allowed', () => {
    const stack = testStack();
    const content = new ContentBucket(stack, 'Content');
    const template = Template.fromStack(stack);
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy'))
      .find((r) => text((r.Properties as { Bucket: unknown }).Bucket) === `<${logicalId(content.bucket)}>`)!;
    const statements = (policy.Properties as { PolicyDocument: { Statement: Record<string, unknown>[] } }).PolicyDocument.Statement;
    const denies = statements.filter((s) => s.Effect === 'Deny' && s.Action === 's3:PutObject').map((s) => ({ sid: s.Sid, resource: text(s.Resource), condition: s.Condition }));
    expect(denies).toEqual([
      { sid: 'DenyStagingWithCustomerKeys', resource: `<${logicalId(content.bucket)}.Arn>/staging/*`, condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } } },
      {
        sid: 'DenyStagingWithKmsKeys', resource: `<${logicalId(content.bucket)}.Arn>/staging/*`,
        condition: { Null: { 's3:x-amz-server-side-encryption': 'false' }, StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } },
      },
    ]);
  });
});

import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ContentBucket } from '../../lib/constructs/content-bucket';
import { ContentDistribution, ContentDistributionProps } from '../../lib/constructs/content-distribution';
import { CHANNEL_CACHE, CONTENT_CACHE, corsPolicy } from '../../lib/http-policy';
import { flatten, logicalId, objectPatterns, testStack, text } from './helpers';

function deploy(props: Partial<ContentDistributionProps> = {}) {
  const stack = testStack();
  const content = new ContentBucket(stack, 'Content');
  const cdn = new ContentDistribution(stack, 'Cdn', { bucket: content.bucket, logBucket: content.logBucket, ...props });
  const template = Template.fromStack(stack);
  const config = template.toJSON().Resources[logicalId(cdn.distribution)].Properties.DistributionConfig;
  const bucketPolicy = flatten(
    Object.values(template.findResources('AWS::S3::BucketPolicy'))
      .filter((p) => p.Properties.Bucket.Ref === logicalId(content.bucket))
      .flatMap((p) => p.Properties.PolicyDocument.Statement),
  );
  return { stack, content, cdn, template, config, bucketPolicy };
}

function cachePolicyOf(template: Template, id: string) {
  return template.toJSON().Resources[id].Properties.CachePolicyConfig;
}

describe(ContentDistribution, () => {
  test('caches content/* for a year and channels/* for seconds, from http-policy', () => {
    const { template, config } = deploy();
    const behaviours = config.CacheBehaviors as { PathPattern: string; CachePolicyId: { Ref: string } }[];
    expect(behaviours.map((b) => b.PathPattern)).toEqual(['content/*', 'channels/*']);
    const ttl = (pattern: string) => {
      const c = cachePolicyOf(template, behaviours.find((b) => b.PathPattern === pattern)!.CachePolicyId.Ref);
      return { min: c.MinTTL, def: c.DefaultTTL, max: c.MaxTTL };
    };
    expect(ttl('content/*')).toEqual({ min: CONTENT_CACHE.cdnMinTtlSeconds, def: CONTENT_CACHE.cdnDefaultTtlSeconds, max: CONTENT_CACHE.cdnMaxTtlSeconds });
    expect(ttl('content/*').def).toBe(31_536_000);
    expect(ttl('channels/*')).toEqual({ min: CHANNEL_CACHE.cdnMinTtlSeconds, def: CHANNEL_CACHE.cdnDefaultTtlSeconds, max: CHANNEL_CACHE.cdnMaxTtlSeconds });
    expect(ttl('channels/*').max).toBeLessThanOrEqual(60);
  });

  test('the default behaviour answers 404 at the edge and caches nothing', () => {
    const { config, cdn } = deploy();
    expect(config.DefaultCacheBehavior).toMatchObject({
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // CachingDisabled
      FunctionAssociations: [{ EventType: 'viewer-request' }],
    });
    expect(cdn.baseUrl).toMatch(/^https:\/\//);
  });

  test('CloudFront may read only content/* and channels/*, and only this distribution', () => {
    const { bucketPolicy, content, cdn } = deploy();
    const cloudFront = bucketPolicy.filter((s) => s.principals.includes('Service:cloudfront.amazonaws.com'));
    expect(cloudFront).toHaveLength(1);
    expect(cloudFront[0].actions).toEqual(['s3:GetObject']);
    expect(objectPatterns(content.bucket, cloudFront[0].resources).sort()).toEqual(['channels/*', 'content/*']);
    expect(cloudFront[0].resources).toHaveLength(2);
    expect(text(cloudFront[0].condition?.StringEquals['AWS:SourceArn'])).toContain(`distribution/<${logicalId(cdn.distribution)}>`);
  });

  test('serves HTTP/2 and HTTP/3 over HTTPS, compressed, with access logs', () => {
    const { config, content } = deploy();
    expect(config).toMatchObject({
      HttpVersion: 'http2and3',
      Logging: { Bucket: { 'Fn::GetAtt': [logicalId(content.logBucket), 'RegionalDomainName'] }, Prefix: 'cloudfront/' },
    });
    for (const b of config.CacheBehaviors) expect(b).toMatchObject({ Compress: true, ViewerProtocolPolicy: 'redirect-to-https' });
  });

  test('reads through Origin Access Control, not an identity', () => {
    const { config, template } = deploy();
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    expect(config.Origins[0].OriginAccessControlId).toBeDefined();
    expect(config.Origins[0].S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
  });

  test('adds the CORS headers of corsPolicy for the configured origins', () => {
    const origins = ['https://games.example.com', 'https://itch.zone'];
    const { template } = deploy({ corsOrigins: origins });
    const cors = corsPolicy(origins);
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        CorsConfig: {
          AccessControlAllowCredentials: false,
          AccessControlAllowOrigins: { Items: origins },
          AccessControlAllowMethods: { Items: [...cors.allowMethods] },
          AccessControlAllowHeaders: { Items: [...cors.allowHeaders] },
          AccessControlExposeHeaders: { Items: [...cors.exposeHeaders] },
          AccessControlMaxAgeSec: cors.maxAgeSeconds,
          OriginOverride: true,
        },
      },
    });
  });

  test('requires TLS 1.2 when a custom domain and certificate are given', () => {
    const stack = testStack();
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111122223333:certificate/abc');
    const content = new ContentBucket(stack, 'Content');
    new ContentDistribution(stack, 'Cdn', { bucket: content.bucket, logBucket: content.logBucket, domain: { names: ['cdn.example.com'], certificate } });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: { Aliases: ['cdn.example.com'], ViewerCertificate: Match.objectLike({ MinimumProtocolVersion: 'TLSv1.2_2021' }) },
    });
  });

  test('fails naming bucket when the bucket is imported (its policy cannot hold the OAC grant)', () => {
    const stack = testStack();
    const content = new ContentBucket(stack, 'Content');
    const imported = s3.Bucket.fromBucketName(stack, 'Imported', 'some-bucket');
    expect(() => new ContentDistribution(stack, 'Cdn', { bucket: imported, logBucket: content.logBucket })).toThrow(/Test\/Cdn\.bucket/);
  });

  test('reports several mistakes together', () => {
    expect(() => deploy({ corsOrigins: [], domain: { names: [], certificate: undefined as never } })).toThrow(
      expect.objectContaining({
        problems: [
          expect.objectContaining({ location: { field: 'Test/Cdn.corsOrigins' } }),
          expect.objectContaining({ location: { field: 'Test/Cdn.domain.names' } }),
        ],
      }),
    );
  });
});

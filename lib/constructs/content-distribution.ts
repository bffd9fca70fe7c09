/**
 * The CDN players download from: CloudFront in front of the content bucket, reading through
 * Origin Access Control, serving `content/` (immutable, a year) and `channels/` (the pointer,
 * seconds) with the one cache and CORS policy of `lib/http-policy.ts`, and nothing else.
 */
import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CacheRule, CHANNEL_CACHE, CONTENT_CACHE, corsPolicy, DEFAULT_CORS_ORIGINS } from '../http-policy';
import { collectProblems, objectPattern, problemIf } from './validation';

/** A custom domain for the distribution. */
export interface DistributionDomain {
  /** Domain names, e.g. `["cdn.example.com"]`. */
  readonly names: readonly string[];
  /** An ACM certificate in us-east-1 covering every name. */
  readonly certificate: acm.ICertificate;
}

/** Properties of a {@link ContentDistribution}. */
export interface ContentDistributionProps {
  /** The content bucket; must be defined in this app so its bucket policy can be extended. */
  readonly bucket: s3.IBucket;
  /**
   * Bucket receiving CloudFront standard logs (under `cloudfront/`). It must have ACLs enabled
   * (object ownership `ObjectWriter` or `BucketOwnerPreferred`) and SSE-S3 encryption.
   * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html
   */
  readonly logBucket: s3.IBucket;
  /**
   * Origins allowed to fetch cross-origin (HTML5 games).
   * @default ["*"] - any origin
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Custom domain and certificate. Only with one does `TLSv1.2_2021` apply: the default
   * `*.cloudfront.net` certificate accepts TLSv1 and cannot be configured.
   * @default - the distribution's `*.cloudfront.net` name
   * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html
   */
  readonly domain?: DistributionDomain;
  /**
   * Edge locations used (and paid for).
   * @default PriceClass.PRICE_CLASS_ALL - players everywhere get a nearby edge
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * ARN of an AWS WAF web ACL (scope CLOUDFRONT) to attach.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * Countries allowed or denied.
   * @default - served everywhere
   */
  readonly geoRestriction?: cloudfront.GeoRestriction;
}

/** The default behaviour answers 404 at the edge: only `content/*` and `channels/*` are served. */
const NOT_FOUND_FUNCTION = `function handler(event) {
  return { statusCode: 404, statusDescription: 'Not Found' };
}`;

/**
 * CloudFront with Origin Access Control, a year-long immutable behaviour for `content/*`, a
 * short-TTL behaviour for `channels/*`, CORS from `corsPolicy`, HTTP/2 and HTTP/3, compression,
 * standard logs, and a default behaviour that serves nothing.
 */
export class ContentDistribution extends Construct {
  /** The distribution. */
  public readonly distribution: cloudfront.IDistribution;
  /** Base URL players download from, with a trailing slash: `https://<domain>/`. */
  public readonly baseUrl: string;
  /** Cache policy of `content/*` (from `CONTENT_CACHE`). */
  public readonly contentCachePolicy: cloudfront.ICachePolicy;
  /** Cache policy of `channels/*` (from `CHANNEL_CACHE`). */
  public readonly channelCachePolicy: cloudfront.ICachePolicy;
  /** CORS and security headers added to every served response. */
  public readonly responseHeadersPolicy: cloudfront.IResponseHeadersPolicy;
  /** The Origin Access Control bucket-policy grant (GetObject on the served prefixes only). */
  public readonly originAccessStatement: iam.PolicyStatement;

  constructor(scope: Construct, id: string, props: ContentDistributionProps) {
    super(scope, id);
    collectProblems(this, [
      problemIf(props.corsOrigins !== undefined && props.corsOrigins.length === 0, 'corsOrigins', 'at least one origin, or "*"', props.corsOrigins, 'corsOrigins must list at least one origin; omit it to allow any origin.'),
      problemIf(props.domain !== undefined && props.domain.names.length === 0, 'domain.names', 'at least one domain name', props.domain?.names, 'domain.names must list the names the certificate covers.'),
    ]);

    const cors = corsPolicy(props.corsOrigins ?? DEFAULT_CORS_ORIGINS);
    this.contentCachePolicy = this.cachePolicy('ContentCachePolicy', CONTENT_CACHE);
    this.channelCachePolicy = this.cachePolicy('ChannelCachePolicy', CHANNEL_CACHE);
    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'ResponseHeaders', {
      comment: 'LiveUpdate content: CORS for HTML5 games (lib/http-policy.ts corsPolicy)',
      corsBehavior: {
        accessControlAllowCredentials: false,
        accessControlAllowOrigins: [...cors.allowOrigins],
        accessControlAllowMethods: [...cors.allowMethods],
        accessControlAllowHeaders: [...cors.allowHeaders],
        accessControlExposeHeaders: [...cors.exposeHeaders],
        accessControlMaxAge: Duration.seconds(cors.maxAgeSeconds),
        originOverride: true,
      },
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: false, override: true },
      },
    });

    // The origin is given a *reference* to the bucket, so that CDK does not write its default
    // OAC grant (s3:GetObject on every key, `bucket/*`); the narrow grant is added below.
    const originBucket = s3.Bucket.fromBucketAttributes(this, 'OriginBucket', {
      bucketArn: props.bucket.bucketArn,
      bucketName: props.bucket.bucketName,
      bucketRegionalDomainName: props.bucket.bucketRegionalDomainName,
    });
    const origin = origins.S3BucketOrigin.withOriginAccessControl(originBucket);
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac',
      'The OAC grant is written by ContentDistribution itself, limited to content/* and channels/*.',
    );

    const notFound = new cloudfront.Function(this, 'NotFound', {
      code: cloudfront.FunctionCode.fromInline(NOT_FOUND_FUNCTION),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Answers 404 for every path outside content/ and channels/',
    });
    const served = (cachePolicy: cloudfront.ICachePolicy): cloudfront.BehaviorOptions => ({
      origin,
      cachePolicy,
      responseHeadersPolicy: this.responseHeadersPolicy,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      // OPTIONS reaches S3, which answers CORS preflights from the bucket's CORS rules.
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
      compress: true,
    });

    const distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'LiveUpdate content and channel pointers',
      // CloudFront requires a default behaviour. It never reaches the bucket: a viewer-request
      // function answers 404, so staging/, releases/, quarantine/, status/ and state/ are not
      // even requested from S3 (where OAC could not read them anyway, see below).
      defaultBehavior: {
        origin,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        functionAssociations: [{ function: notFound, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        [objectPattern(CONTENT_CACHE.prefix)]: served(this.contentCachePolicy),
        [objectPattern(CHANNEL_CACHE.prefix)]: served(this.channelCachePolicy),
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_ALL,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/',
      domainNames: props.domain ? [...props.domain.names] : undefined,
      certificate: props.domain?.certificate,
      // Effective only with a custom certificate (see `domain`).
      minimumProtocolVersion: props.domain ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      webAclId: props.webAclArn,
      geoRestriction: props.geoRestriction,
    });

    // Wildcards: every key under the two served prefixes, nothing else. The SourceArn condition
    // limits the grant to this distribution (the confused-deputy guard of OAC).
    // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
    this.originAccessStatement = new iam.PolicyStatement({
      sid: 'CloudFrontReadsServedPrefixes',
      principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
      actions: ['s3:GetObject'],
      resources: [CONTENT_CACHE.prefix, CHANNEL_CACHE.prefix].map((p) => props.bucket.arnForObjects(objectPattern(p))),
      conditions: { StringEquals: { 'AWS:SourceArn': distribution.distributionArn } },
    });
    const added = props.bucket.addToResourcePolicy(this.originAccessStatement).statementAdded;
    collectProblems(this, [
      problemIf(!added, 'bucket', 'a bucket defined in this app', props.bucket.bucketName, 'bucket is imported: its policy cannot receive the Origin Access Control grant.'),
    ]);

    if (!props.domain) {
      Validations.of(distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason: 'Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose security policy (TLSv1) cannot be changed; set `domain` (name + ACM certificate) to get TLSv1.2_2021.',
      });
    }
    if (!props.webAclArn) {
      Validations.of(distribution).acknowledge({
        id: 'AwsSolutions-CFR2',
        reason: 'Serves public, immutable, content-addressed files (GET/HEAD only, no origin logic, default behaviour answers 404 at the edge); a WAF web ACL (~$5/month + per request) is optional via `webAclArn`.',
      });
    }
    if (!props.geoRestriction) {
      Validations.of(distribution).acknowledge({
        id: 'AwsSolutions-CFR1',
        reason: 'Game content is published for players worldwide; studios that must restrict countries set `geoRestriction`.',
      });
    }

    this.distribution = distribution;
    this.baseUrl = `https://${props.domain ? props.domain.names[0] : distribution.distributionDomainName}/`;
  }

  private cachePolicy(id: string, rule: CacheRule): cloudfront.CachePolicy {
    return new cloudfront.CachePolicy(this, id, {
      comment: `LiveUpdate ${rule.prefix}: ${rule.cacheControl}`,
      defaultTtl: Duration.seconds(rule.cdnDefaultTtlSeconds),
      minTtl: Duration.seconds(rule.cdnMinTtlSeconds),
      maxTtl: Duration.seconds(rule.cdnMaxTtlSeconds),
      // Nothing varies the response: no headers, cookies or query strings in the cache key.
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
  }
}

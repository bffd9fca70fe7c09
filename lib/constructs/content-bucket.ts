/**
 * The content bucket of one studio: the private staging inbox, the verified content players
 * download, the channel pointers, release records, quarantine and status objects (layout in
 * `lib/core/keys.ts`), plus the bucket that receives its access logs.
 */
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PREFIX } from '../core/keys';
import { corsPolicy, DEFAULT_CORS_ORIGINS } from '../http-policy';
import { collectProblems, objectPattern, problemIf } from './validation';

/** Properties of a {@link ContentBucket}. */
export interface ContentBucketProps {
  /**
   * Days after which leftovers under `staging/` and `quarantine/` expire.
   * @default 14
   * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
   */
  readonly stagingExpiryDays?: number;
  /**
   * Days after which a replaced or deleted object version is removed for good. Only channel
   * pointers and status objects are ever overwritten; content is immutable.
   * @default 30
   */
  readonly noncurrentVersionExpiryDays?: number;
  /**
   * Days after which an upload's status (`status/<game>/<upload>.json`, what `lup status` shows)
   * expires. Releases, pointers and their history are kept; only the per-upload reports go.
   * @default 90
   */
  readonly statusExpiryDays?: number;
  /**
   * Days after which an unfinished multipart upload is aborted and its parts deleted.
   * @default 2
   * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html
   */
  readonly abortIncompleteUploadDays?: number;
  /**
   * Days the access logs (S3 server access logs and CloudFront standard logs) are kept.
   * @default 365
   */
  readonly logRetentionDays?: number;
  /**
   * Origins allowed to read `content/` and `channels/` cross-origin straight from S3.
   * @default ["*"] - any origin (HTML5 games are hosted anywhere)
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Grant anonymous `s3:GetObject` on exactly `content/*` and `channels/*`. When false, the
   * bucket blocks all public access and CloudFront (Origin Access Control) is the only reader.
   *
   * Warning: anyone can then download straight from S3, bypassing the CDN (and paying S3's
   * data-transfer price instead of CloudFront's).
   * @default true
   */
  readonly publicRead?: boolean;
  /**
   * What happens to both buckets when the stack is deleted.
   * @default RemovalPolicy.RETAIN - the studio's published content and logs survive
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The secure defaults of the content bucket, in one place, merged with the options above. */
export function contentBucketDefaults(props: ContentBucketProps = {}): s3.BucketProps {
  const publicRead = props.publicRead ?? true;
  const cors = corsPolicy(props.corsOrigins ?? DEFAULT_CORS_ORIGINS);
  const expiry = Duration.days(props.stagingExpiryDays ?? 14);
  return {
    enforceSSL: true,
    versioned: true,
    encryption: s3.BucketEncryption.S3_MANAGED,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    // Public ACLs are always blocked; a public *policy* is allowed only for the anonymous
    // grant on content/ and channels/ that this construct writes itself.
    blockPublicAccess: publicRead
      ? new s3.BlockPublicAccess({ blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: false })
      : s3.BlockPublicAccess.BLOCK_ALL,
    cors: [
      {
        allowedMethods: cors.allowMethods.map((m) => (m === 'GET' ? s3.HttpMethods.GET : s3.HttpMethods.HEAD)),
        allowedOrigins: [...cors.allowOrigins],
        allowedHeaders: [...cors.allowHeaders],
        exposedHeaders: [...cors.exposeHeaders],
        maxAge: cors.maxAgeSeconds,
      },
    ],
    lifecycleRules: [
      { id: 'expire-staging-leftovers', prefix: PREFIX.staging, expiration: expiry },
      { id: 'expire-quarantine', prefix: PREFIX.quarantine, expiration: expiry },
      { id: 'expire-upload-statuses', prefix: PREFIX.status, expiration: Duration.days(props.statusExpiryDays ?? 90) },
      { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(props.noncurrentVersionExpiryDays ?? 30) },
      { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteUploadDays ?? 2) },
      { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
    ],
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  };
}

/** The secure defaults of the access-log bucket. */
export function logBucketDefaults(props: ContentBucketProps = {}): s3.BucketProps {
  return {
    enforceSSL: true,
    // CloudFront standard logs require SSE-S3 (not KMS) on the target bucket.
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    // CloudFront standard (legacy) logging writes through an ACL grant to the awslogsdelivery
    // account, so ACLs must stay enabled on this bucket (and only on this one).
    // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html#access-logs-choosing-s3-bucket
    objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
    versioned: false,
    lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(props.logRetentionDays ?? 365) }],
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  };
}

/** The prefixes players may read anonymously when `publicRead` is on: exactly these two. */
export const PUBLIC_READ_PREFIXES: readonly string[] = [PREFIX.content, PREFIX.channels];

/**
 * The studio's content bucket: TLS only, versioned, SSE-S3, access logs into a separate secured
 * log bucket, lifecycle expiry for staging leftovers and quarantine, CORS for HTML5 games, and —
 * unless `publicRead` is false — an anonymous `s3:GetObject` on `content/*` and `channels/*` only.
 */
export class ContentBucket extends Construct {
  /** The content bucket. */
  public readonly bucket: s3.IBucket;
  /** The bucket receiving the content bucket's server access logs and CloudFront's logs. */
  public readonly logBucket: s3.IBucket;
  /** The anonymous read grant; `undefined` when `publicRead` is false. */
  public readonly publicReadStatement?: iam.PolicyStatement;

  constructor(scope: Construct, id: string, props: ContentBucketProps = {}) {
    super(scope, id);
    validateContentBucketProps(this, props);

    const logBucket = new s3.Bucket(this, 'LogBucket', logBucketDefaults(props));
    const bucket = new s3.Bucket(this, 'Bucket', {
      ...contentBucketDefaults(props),
      serverAccessLogsBucket: logBucket,
      serverAccessLogsPrefix: 's3/',
    });

    if (props.publicRead ?? true) {
      // The object wildcards are the point of the grant: every key under content/ and channels/
      // is immutable verified content or a pointer, and nothing else is matched.
      this.publicReadStatement = new iam.PolicyStatement({
        sid: 'AnonymousReadOfServedPrefixes',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: PUBLIC_READ_PREFIXES.map((p) => bucket.arnForObjects(objectPattern(p))),
      });
      bucket.addToResourcePolicy(this.publicReadStatement);
      Validations.of(bucket).acknowledge({
        id: 'AwsSolutions-S2',
        reason: 'Public ACLs are blocked; a public bucket policy is allowed only for the anonymous s3:GetObject on content/* (verified, immutable) and channels/* (pointers), the DESIGN.md security model. Set publicRead: false to block all public access.',
      });
    }

    // Staged objects must be readable by the pipeline's roles: an object encrypted with a key the
    // uploader supplies (SSE-C) or with a KMS key of the uploader's choosing (SSE-KMS, DSSE-KMS) is
    // not. The bucket's default encryption (SSE-S3) applies to what is sent without a header.
    // @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyStagingWithCustomerKeys',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(objectPattern(PREFIX.staging))],
      conditions: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } },
    }));
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyStagingWithKmsKeys',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(objectPattern(PREFIX.staging))],
      conditions: {
        Null: { 's3:x-amz-server-side-encryption': 'false' },
        StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' },
      },
    }));

    this.bucket = bucket;
    this.logBucket = logBucket;
  }
}

function validateContentBucketProps(scope: Construct, props: ContentBucketProps): void {
  const wholeDays = (name: keyof ContentBucketProps, value: number | undefined) =>
    problemIf(
      value !== undefined && !Token.isUnresolved(value) && (!Number.isInteger(value) || value < 1),
      name,
      'a whole number of days, at least 1',
      value,
      `${name} must be a whole number of days, at least 1.`,
    );
  collectProblems(scope, [
    wholeDays('stagingExpiryDays', props.stagingExpiryDays),
    wholeDays('noncurrentVersionExpiryDays', props.noncurrentVersionExpiryDays),
    wholeDays('abortIncompleteUploadDays', props.abortIncompleteUploadDays),
    wholeDays('logRetentionDays', props.logRetentionDays),
    problemIf(
      props.corsOrigins !== undefined && props.corsOrigins.length === 0,
      'corsOrigins',
      'at least one origin, or "*"',
      props.corsOrigins,
      'corsOrigins must list at least one origin; omit it to allow any origin.',
    ),
  ]);
}

/**
 * One studio's whole deployment: content bucket, CDN, pipeline functions, publisher(s) and the
 * operator role, with the outputs a studio needs to publish (see docs/deploy.md).
 */
import { CfnOutput, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { StudioConfig, validateStudioConfig } from '../core/config';
import { EDITOR_UPLOAD, keys } from '../core/keys';
import { ContentBucket } from './content-bucket';
import { ContentDistribution, DistributionDomain } from './content-distribution';
import { OperatorRole } from './operator-role';
import { FunctionSizing, PipelineFunctionName, PipelineFunctions } from './pipeline-functions';
import { PublisherUser } from './publisher-user';
import { InvalidPropsError } from './validation';

/** How publishers are cut. */
export type PublisherScope = 'studio' | 'game';

/** Properties of a {@link StudioStack}. */
export interface StudioStackProps extends StackProps {
  /** The studio configuration; validated again here (`validateStudioConfig`), all problems at once. */
  readonly config: StudioConfig;
  /**
   * One publisher for the whole studio (`staging/*`), or one per game (`staging/<game>/*`, its own
   * access key and secret), so that a leaked key can stage content for one game only.
   * @default 'studio'
   */
  readonly publisherScope?: PublisherScope;
  /**
   * Serial of the publisher access keys; increase and deploy to rotate them.
   * @default 1
   */
  readonly publisherKeySerial?: number;
  /**
   * Principals that may assume the operator role.
   * @default - the account's root principal (grant `sts:AssumeRole` to your operators)
   */
  readonly operatorPrincipals?: readonly iam.IPrincipal[];
  /**
   * Require MFA to assume the operator role (see {@link OperatorRoleProps.requireMfa}).
   * @default true
   */
  readonly operatorRequiresMfa?: boolean;
  /**
   * Custom domain and certificate of the CDN (required for TLSv1.2 minimum).
   * @default - the `*.cloudfront.net` name
   */
  readonly domain?: DistributionDomain;
  /**
   * Memory and timeout per function, merged over the defaults.
   * @default DEFAULT_FUNCTION_SIZING
   */
  readonly functionSizing?: Partial<Record<PipelineFunctionName, FunctionSizing>>;
}

/** The values of Defold's `liveupdate.settings` (mode Amazon) for one game. */
export interface LiveUpdateSettings {
  readonly mode: 'Amazon';
  readonly 'amazon-bucket': string;
  readonly 'amazon-prefix': string;
}

/** The `liveupdate.settings` values that make the Defold editor upload a game into staging. */
export function liveUpdateSettingsFor(bucketName: string, game: string): LiveUpdateSettings {
  // The editor puts each entry at `prefix + "/" + hexDigest`, so the prefix has no trailing slash.
  const prefix = keys.uploadPrefix(game, EDITOR_UPLOAD).replace(/\/$/, '');
  return { mode: 'Amazon', 'amazon-bucket': bucketName, 'amazon-prefix': prefix };
}

/** An output id made of letters and digits only, as CloudFormation requires. */
function outputId(prefix: string, name: string): string {
  return `${prefix}${name.split(/[^A-Za-z0-9]+/).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('')}`;
}

/** The per-studio stack: everything `cdk deploy` creates for one studio. */
export class StudioStack extends Stack {
  /** The content bucket and its log bucket. */
  public readonly content: ContentBucket;
  /** The CDN. */
  public readonly cdn: ContentDistribution;
  /** The pipeline functions. */
  public readonly pipeline: PipelineFunctions;
  /** The publishers: one (key `*`) or one per game (key: game id). */
  public readonly publishers: Readonly<Record<string, PublisherUser>>;
  /** The operator role. */
  public readonly operator: OperatorRole;

  constructor(scope: Construct, id: string, props: StudioStackProps) {
    super(scope, id, props);
    const checked = validateStudioConfig(props.config);
    if (!checked.ok) throw new InvalidPropsError(`${this.node.path} (prop config)`, checked.errors);
    const config = checked.config;

    this.content = new ContentBucket(this, 'Content', {
      // The bucket has one lifecycle for staging/ and quarantine/: the shortest any game asks for.
      stagingExpiryDays: Math.min(...config.games.map((g) => g.retention.stagingExpiryDays)),
      corsOrigins: config.corsOrigins,
      publicRead: config.publicRead,
    });
    const bucket = this.content.bucket;

    this.cdn = new ContentDistribution(this, 'Cdn', {
      bucket,
      logBucket: this.content.logBucket,
      corsOrigins: config.corsOrigins,
      domain: props.domain,
    });

    this.pipeline = new PipelineFunctions(this, 'Pipeline', {
      bucket,
      config,
      cdnBaseUrl: this.cdn.baseUrl,
      distribution: this.cdn.distribution,
      sizing: props.functionSizing,
    });

    const publisherProps = {
      bucket,
      editorCompatibility: config.editorCompatibility,
      accessKey: config.publisherAccessKey,
      accessKeySerial: props.publisherKeySerial,
    };
    const publishers: Record<string, PublisherUser> = {};
    if ((props.publisherScope ?? 'studio') === 'studio') {
      publishers['*'] = new PublisherUser(this, 'Publisher', publisherProps);
    } else {
      for (const game of config.games) {
        publishers[game.id] = new PublisherUser(this, outputId('Publisher', game.id), { ...publisherProps, games: [game.id] });
      }
    }
    this.publishers = publishers;

    this.operator = new OperatorRole(this, 'Operator', {
      bucket,
      controlFunction: this.pipeline.controlFunction,
      assumedBy: props.operatorPrincipals,
      requireMfa: props.operatorRequiresMfa,
    });

    new CfnOutput(this, 'BucketName', { value: bucket.bucketName, description: 'Content bucket (--bucket of lup publish)' });
    new CfnOutput(this, 'CdnBaseUrl', { value: this.cdn.baseUrl, description: 'Base URL players download from' });
    new CfnOutput(this, 'DistributionId', { value: this.cdn.distribution.distributionId, description: 'CloudFront distribution' });
    new CfnOutput(this, 'OperatorRoleArn', { value: this.operator.role.roleArn, description: 'Role operators assume for promote/rollback/gc' });
    new CfnOutput(this, 'ControlFunctionName', { value: this.pipeline.controlFunction.functionName, description: 'Operator control function' });
    new CfnOutput(this, 'FailureQueueUrl', { value: this.pipeline.failureQueue.queueUrl, description: 'Events that failed after retries' });
    for (const [game, publisher] of Object.entries(publishers)) {
      if (publisher.secret) {
        new CfnOutput(this, game === '*' ? 'PublisherSecretArn' : outputId('PublisherSecretArn', game), {
          value: publisher.secret.secretArn,
          description: `Secrets Manager secret holding the publisher access key${game === '*' ? '' : ` of game ${game}`} (the ARN, not the secret)`,
        });
      }
    }
    // One output for every game (CloudFormation allows 200 outputs; a studio may have more games).
    const settings = liveUpdateSettingsFor(bucket.bucketName, '<game>');
    new CfnOutput(this, 'LiveUpdateSettings', {
      value: `mode=${settings.mode} amazon-bucket=${settings['amazon-bucket']} amazon-prefix=${settings['amazon-prefix']}`,
      description: 'Defold liveupdate.settings [liveupdate] values; replace <game> with the game id',
    });

    acknowledgeStackFindings(this);
  }
}

/**
 * cdk-nag findings on resources CDK creates for the stack itself. The constructs acknowledge
 * their own findings, one by one and with their reasons (see lib/constructs/nag.ts), so that a
 * new wildcard fails synthesis until someone writes down why it is needed.
 */
function acknowledgeStackFindings(stack: StudioStack): void {
  // CDK's singleton that writes the bucket's notification configuration (a custom resource).
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
    Validations.of(child).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: "CDK's BucketNotificationsHandler (the custom resource that writes the S3 notification configuration from ROUTES) creates its own role with the AWS managed basic execution policy (CloudWatch Logs only); CDK offers no option to replace it.",
    });
  }
}

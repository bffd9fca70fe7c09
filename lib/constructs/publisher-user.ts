/**
 * The publisher: the IAM user the Defold editor or CI uploads with. It can stage content and read
 * its status objects, nothing else; a leaked key can at most stage content (DESIGN.md, security).
 */
import { SecretValue, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { isValidId, keys, PREFIX } from '../core/keys';
import { acknowledgeObjectWildcards, wildcardReasons } from './nag';
import { collectProblems, objectPattern, problemIf } from './validation';

/** Properties of a {@link PublisherUser}. */
export interface PublisherUserProps {
  /** The content bucket. */
  readonly bucket: s3.IBucket;
  /**
   * Limit every grant to these games' prefixes (`staging/<game>/*`, `status/<game>/*`, listing
   * of `content/<game>/`). Give one game to get a publisher per game, whose key cannot stage for
   * any other game.
   * @default - every game: `staging/*`, `status/*` and listing of `content/*`
   */
  readonly games?: readonly string[];
  /**
   * Add exactly the two read-only calls the Defold editor's Amazon publisher makes before it
   * uploads: `s3:ListAllMyBuckets` (it lists the buckets to offer in its settings dialog) and
   * `s3:GetBucketAcl` on this bucket. `s3:ListAllMyBuckets` cannot be scoped to a bucket, so the
   * user can then see the names of every bucket in the account.
   * @default false
   * @see https://defold.com/manuals/live-update-aws/
   */
  readonly editorCompatibility?: boolean;
  /**
   * Create an access key and store it (id and secret) in a Secrets Manager secret. The secret
   * never appears in the template or in a stack output.
   * @default true
   */
  readonly accessKey?: boolean;
  /**
   * Serial of the access key; increase it and deploy to rotate the key (CloudFormation replaces
   * the key and the secret's value). You will need to hand the new key to the editor or CI.
   * @default 1
   */
  readonly accessKeySerial?: number;
}

/**
 * What the publisher may list with `s3:ListBucket` (`s3:prefix` values): the content listing the
 * CLI uses to skip already published content, and its status objects. Listing is not reading.
 */
export function publisherListPrefixes(games?: readonly string[]): string[] {
  if (!games) return [objectPattern(PREFIX.content), objectPattern(PREFIX.status)];
  return games.flatMap((g) => [objectPattern(keys.contentPrefix(g)), objectPattern(`${PREFIX.status}${g}/`)]);
}

/**
 * An IAM user that may put (incl. multipart) under `staging/` and read `status/` — per game when
 * `games` is given — and list only the `content/` and `status/` prefixes. No delete, no read of
 * staging, nothing under `content/`, `channels/`, `releases/` or `quarantine/`.
 */
export class PublisherUser extends Construct {
  /** The IAM user. */
  public readonly user: iam.IUser;
  /** The customer-managed policy holding every grant of the user. */
  public readonly policy: iam.ManagedPolicy;
  /** The access key; `undefined` when `accessKey` is false. */
  public readonly accessKey?: iam.IAccessKey;
  /**
   * The Secrets Manager secret holding `{ "accessKeyId", "secretAccessKey" }`; `undefined` when
   * `accessKey` is false. Fetch it with `aws secretsmanager get-secret-value`.
   */
  public readonly secret?: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: PublisherUserProps) {
    super(scope, id);
    const games = props.games;
    collectProblems(this, [
      problemIf(games !== undefined && games.length === 0, 'games', 'at least one game id', games, 'games must name at least one game; omit it to allow every game.'),
      ...(games ?? []).map((g, i) =>
        problemIf(!isValidId(g), `games[${i}]`, 'a lowercase game id usable in object keys', g, `games[${i}] is not a valid game id.`),
      ),
      problemIf(
        props.accessKeySerial !== undefined && (!Number.isInteger(props.accessKeySerial) || props.accessKeySerial < 1),
        'accessKeySerial',
        'a whole number, at least 1',
        props.accessKeySerial,
        'accessKeySerial must be a whole number of at least 1.',
      ),
    ]);

    const bucket = props.bucket;
    const staging = games ? games.map((g) => keys.stagingPrefix(g)) : [PREFIX.staging];
    const status = games ? games.map((g) => `${PREFIX.status}${g}/`) : [PREFIX.status];

    // A managed policy, not an inline one: inline user policies are limited to 2,048 characters
    // in total, which a studio with many games would reach.
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    const statements = [
      // Wildcard: the CLI picks the upload folder and the object names below staging/<game>/.
      new iam.PolicyStatement({
        sid: 'StageUploads',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: staging.map((p) => bucket.arnForObjects(objectPattern(p))),
      }),
      // Wildcard: one status object per upload, named by the upload id.
      new iam.PolicyStatement({
        sid: 'ReadStatus',
        actions: ['s3:GetObject'],
        resources: status.map((p) => bucket.arnForObjects(objectPattern(p))),
      }),
      new iam.PolicyStatement({
        sid: 'ListPublishedContentAndStatus',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': publisherListPrefixes(games) } },
      }),
    ];
    if (props.editorCompatibility) {
      statements.push(
        // Wildcard: ListAllMyBuckets supports no resource narrower than "*".
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
        new iam.PolicyStatement({ sid: 'EditorListsBuckets', actions: ['s3:ListAllMyBuckets'], resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'EditorReadsBucketAcl', actions: ['s3:GetBucketAcl'], resources: [bucket.bucketArn] }),
      );
    }

    const user = new iam.User(this, 'User');
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `Publisher of ${games ? games.join(', ') : 'every game'}: stage uploads, read status.`,
      statements,
      users: [user],
    });
    this.user = user;
    acknowledgeObjectWildcards(this.policy, bucket, wildcardReasons([...staging, ...status].map(objectPattern)));
    if (props.editorCompatibility) {
      Validations.of(this.policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 's3:ListAllMyBuckets (editorCompatibility) has no resource narrower than "*"; the Defold editor calls it and it reveals bucket names only.',
      });
    }

    if (props.accessKey ?? true) {
      const accessKey = new iam.AccessKey(this, 'AccessKey', { user, serial: props.accessKeySerial });
      this.accessKey = accessKey;
      this.secret = new secretsmanager.Secret(this, 'Secret', {
        description: `Access key of the LiveUpdate publisher ${user.node.path}`,
        secretObjectValue: {
          // The key id is not secret; the secret access key only travels as a CloudFormation
          // attribute reference into Secrets Manager, never as a literal or an output.
          accessKeyId: SecretValue.unsafePlainText(accessKey.accessKeyId),
          secretAccessKey: accessKey.secretAccessKey,
        },
      });
      Validations.of(this.secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'The secret is an IAM access key created by CloudFormation; Secrets Manager cannot rotate it without a custom rotation function. Rotate by raising accessKeySerial and deploying (docs/deploy.md).',
      });
    }
  }
}

/**
 * The operator: a principal separate from the publisher that promotes, rolls back and collects
 * garbage — all through the control function — and reads release records, pointers and status.
 */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PREFIX } from '../core/keys';
import { acknowledgeObjectWildcards, wildcardReasons } from './nag';
import { collectProblems, objectPattern, problemIf } from './validation';

/** Properties of an {@link OperatorRole}. */
export interface OperatorRoleProps {
  /** The content bucket. */
  readonly bucket: s3.IBucket;
  /** The control function (promote, rollback, gc): the only function the role may invoke. */
  readonly controlFunction: lambda.IFunction;
  /**
   * Who may assume the role.
   * @default - the account's root principal: any IAM principal of this account whose own policy
   *   allows `sts:AssumeRole` on the role (you grant that to your operators)
   */
  readonly assumedBy?: readonly iam.IPrincipal[];
  /**
   * Longest session of an assumed role.
   * @default Duration.hours(1)
   */
  readonly maxSessionDuration?: Duration;
  /**
   * Require multi-factor authentication to assume the role (`aws:MultiFactorAuthPresent` in the trust
   * policy): a leaked access key alone cannot move a channel. Turn off for automation that assumes
   * the role without MFA (a CI account with its own guard rails).
   * @default true
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html
   */
  readonly requireMfa?: boolean;
}

/** Prefixes operators may read and list: release records, pointers, status objects. */
export const OPERATOR_READ_PREFIXES: readonly string[] = [PREFIX.releases, PREFIX.channels, PREFIX.status];

/** A role that may invoke only the control function and read `releases/*`, `channels/*`, `status/*`. */
export class OperatorRole extends Construct {
  /** The operator role. */
  public readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: OperatorRoleProps) {
    super(scope, id);
    collectProblems(this, [
      problemIf(props.assumedBy !== undefined && props.assumedBy.length === 0, 'assumedBy', 'at least one principal', [], 'assumedBy must name at least one principal; omit it to trust the account.'),
    ]);
    const trusted = props.assumedBy ?? [new iam.AccountRootPrincipal()];
    const principals = (props.requireMfa ?? true)
      ? trusted.map((p): iam.IPrincipal => new iam.PrincipalWithConditions(p, { Bool: { 'aws:MultiFactorAuthPresent': 'true' } }))
      : trusted;
    const role = new iam.Role(this, 'Role', {
      assumedBy: principals.length === 1 ? principals[0] : new iam.CompositePrincipal(...principals),
      description: 'LiveUpdate operator: promote, rollback and gc through the control function; read releases, channels, status.',
      maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeControl',
        actions: ['lambda:InvokeFunction'],
        // The unqualified ARN only (not `:*`): no version or alias can be invoked around it.
        resources: [props.controlFunction.functionArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadReleasesPointersStatus',
        actions: ['s3:GetObject'],
        // Wildcards: release ids, channel names and upload ids are chosen at run time.
        resources: OPERATOR_READ_PREFIXES.map((p) => props.bucket.arnForObjects(objectPattern(p))),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListReleasesPointersStatus',
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': OPERATOR_READ_PREFIXES.map(objectPattern) } },
      }),
    );
    acknowledgeObjectWildcards(role, props.bucket, wildcardReasons(OPERATOR_READ_PREFIXES.map(objectPattern)));
    this.role = role;
  }
}

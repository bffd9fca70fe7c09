/**
 * Acknowledging cdk-nag (AwsSolutions) findings, one finding at a time and always with a reason.
 * cdk-nag 3 reads acknowledgements from CDK's `Validations.of(construct).acknowledge`; wildcard
 * findings are named `AwsSolutions-IAM5[Resource::<LogicalId.Arn>/pattern]`, so they are built
 * here from the bucket's logical id rather than spelled by hand.
 */
import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';

/** The cdk-nag finding id of a wildcard object resource `bucket/pattern` (rule AwsSolutions-IAM5). */
export function objectWildcardFinding(bucket: s3.IBucket, pattern: string): string {
  const cfn = bucket.node.defaultChild as CfnElement | undefined;
  // An imported bucket has no CloudFormation element: cdk-nag then sees its literal ARN.
  const arn = cfn ? `<${Stack.of(cfn).getLogicalId(cfn)}.Arn>` : bucket.bucketArn;
  return `AwsSolutions-IAM5[Resource::${arn}/${pattern}]`;
}

/** Acknowledge the IAM5 findings of wildcard object patterns on `scope`, with one reason each. */
export function acknowledgeObjectWildcards(scope: IConstruct, bucket: s3.IBucket, reasons: ReadonlyMap<string, string>): void {
  for (const [pattern, reason] of reasons) {
    Validations.of(scope).acknowledge({ id: objectWildcardFinding(bucket, pattern), reason });
  }
}

/** Why each wildcard object pattern of the layout is needed (keys in `lib/core/keys.ts`). */
export const WILDCARD_REASONS: Readonly<Record<string, string>> = {
  'staging/*': 'Uploads land under staging/<game>/<upload>/<name>; game, upload id and object names are chosen by the CLI or the editor at run time.',
  'content/*': 'Verified content is addressed by digest (content/<game>/<kind>/<digest>); digests are only known at run time.',
  'content/*/resources/*': 'Loose resources are named by their hex digest, known only when verified; the pattern pins the kind (resources) and leaves the game open.',
  'content/*/archives/*': 'Archives are named by their SHA-256, known only when verified; the pattern pins the kind (archives) and leaves the game open.',
  'content/*/manifests/*': 'Manifests are named by their SHA-256, known only when verified; the pattern pins the kind (manifests) and leaves the game open.',
  'channels/*': 'One pointer per game and channel (channels/<game>/<channel>.json); the pipeline serves every configured game and channel.',
  'releases/*': 'Release records and history are named by release id and sequence number, chosen at run time.',
  'quarantine/*': 'Rejected uploads keep their upload id and name under quarantine/<game>/<upload>/.',
  'status/*': 'One status object per upload (status/<game>/<upload>.json); upload ids are chosen at run time.',
  'state/*': 'Pipeline bookkeeping lives under state/<game>/: receipts named by content digest, the editor candidate and the development pin; games and digests are known only at run time.',
  'state/*/_archives/*.json': 'Receipts of verified archives (written by the staging steps, deleted by garbage collection with their archive) are named by the archive SHA-256, known only at run time.',
  'state/*/_headers/*': 'Garbage collection deletes the header receipts of each loose resource it deletes; they are named by the resource digest and header, known only at run time.',
  'state/_pending/*': "The sweeper's entry of each upload in flight (state/_pending/<game>/<upload>) is removed once its status is final; games and upload ids are chosen at run time.",
  'state/_attempts/*': 'A staging step asks the release function for an attempt with state/_attempts/<game>/<upload>.attempt, which the release function removes; games and upload ids are chosen at run time.',
  'state/*/_editor/candidate.json': "The editor's newest manifest of each game; games are known only at run time.",
  'status/*/editor-*': "An editor build's status (status/<game>/editor-<sha256 prefix>.json), replaced when the same manifest is sent again after a failure.",
  'state/*/_verified/*': 'Garbage collection deletes verified content no release took (state/<game>/_verified/<kind>/<digest>); games and digests are known only at run time.',
  'state/*/_manifests/*.json': 'Receipts of verified manifests (written by the staging steps, deleted by garbage collection with their manifest) are named by the manifest SHA-256, known only at run time.',
};

/** The reasons for `patterns`, taken from {@link WILDCARD_REASONS}; throws on a pattern without one. */
export function wildcardReasons(patterns: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const pattern of patterns) {
    const generic = pattern.replace(/^(staging|status|content)\/[^*/]+\/\*$/, '$1/<game>/*');
    const reason = WILDCARD_REASONS[pattern] ?? PER_GAME_REASONS[generic];
    if (!reason) throw new Error(`No reason recorded for the wildcard object pattern "${pattern}"; add one to WILDCARD_REASONS in lib/constructs/nag.ts.`);
    out.set(pattern, reason);
  }
  return out;
}

const PER_GAME_REASONS: Readonly<Record<string, string>> = {
  'staging/<game>/*': 'This publisher stages one game: upload ids and object names under staging/<game>/ are chosen by the CLI or the editor at run time.',
  'status/<game>/*': 'One status object per upload of this game (status/<game>/<upload>.json); upload ids are chosen at run time.',
  'content/<game>/*': 'Listing condition only: the CLI lists content/<game>/ to skip already published content.',
};

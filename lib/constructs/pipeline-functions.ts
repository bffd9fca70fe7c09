/**
 * The pipeline's Lambda functions: one per step triggered by objects arriving in `staging/`
 * (wired from the one route table, `lib/routes.ts`), the operator's control function and the
 * scheduled sweeper. Each function gets only the actions and prefixes its step needs.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Duration, Size, Token, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StudioConfig } from '../core/config';
import { EDITOR_UPLOAD, PREFIX, RELEASE_ATTEMPTS_PREFIX, keys } from '../core/keys';
import { HANDLER_BUNDLING, HANDLER_NODE_MAJOR } from './handler-bundling';
import { PipelineStep, ROUTES, STEP_HANDLER_FILES } from '../routes';
import { LAMBDA_ENV, STUDIO_CONFIG_FILE, STUDIO_CONFIG_LAYER_PATH } from '../../lambda/environment';
import { acknowledgeObjectWildcards, wildcardReasons } from './nag';
import { collectProblems, objectPattern, problemIf, PropProblem } from './validation';

/** Every function of the pipeline: the four staging steps, the operator's control, the sweeper. */
export type PipelineFunctionName = PipelineStep | 'control' | 'sweeper';

/** Handler entry file (under `lambda/`) of each function. */
export const FUNCTION_HANDLER_FILES: Readonly<Record<PipelineFunctionName, string>> = {
  ...STEP_HANDLER_FILES,
  control: 'control.ts',
  sweeper: 'sweeper.ts',
};

/** Memory and timeout of one function. */
export interface FunctionSizing {
  /** Memory in MiB (128–10240); CPU grows with it. */
  readonly memoryMiB: number;
  /** Longest run of one invocation (at most 15 minutes). */
  readonly timeout: Duration;
}

/** Default sizing: the archive step streams and hashes whole zips, so it gets the most. */
export const DEFAULT_FUNCTION_SIZING: Readonly<Record<PipelineFunctionName, FunctionSizing>> = {
  resource: { memoryMiB: 512, timeout: Duration.minutes(1) },
  archive: { memoryMiB: 1024, timeout: Duration.minutes(5) },
  // A manifest of 100 000 entries is decoded and validated in memory.
  manifest: { memoryMiB: 1024, timeout: Duration.minutes(2) },
  release: { memoryMiB: 512, timeout: Duration.minutes(2) },
  // Garbage collection lists whole prefixes.
  control: { memoryMiB: 512, timeout: Duration.minutes(5) },
  sweeper: { memoryMiB: 256, timeout: Duration.minutes(2) },
};

/**
 * What one function may do in the bucket, as key patterns (`*` spans any characters, `/` too).
 * `list` is granted on the bucket: see {@link PipelineFunctions}.
 */
export interface BucketAccess {
  /** `s3:GetObject` (also HeadObject and the source side of CopyObject). */
  readonly read: readonly string[];
  /** `s3:PutObject` (also conditional puts and the target side of CopyObject). */
  readonly write: readonly string[];
  /** `s3:DeleteObject`. */
  readonly delete: readonly string[];
  /** `cloudfront:CreateInvalidation` on this stack's distribution only. */
  readonly invalidate: boolean;
}

// Wildcards below: `<prefix>*` stands for every game, upload and object name under the prefix,
// which are chosen at run time (the pipeline serves every game of the studio); `content/*/x/*`
// pins the kind of content (resources, archives, manifests) while leaving the game open.
const all = objectPattern;
const contentOf = (kind: 'resources' | 'archives' | 'manifests') => `${PREFIX.content}*/${kind}/*`;

/**
 * A staging step (resource, archive, manifest): verify the staged object into the private area
 * (`state/<game>/_verified/`), write receipts, status and its sweeper entry, quarantine what is
 * refused, remove the staged object, and ask the release function for an attempt by writing
 * `state/_attempts/<game>/<upload>.attempt` (routes.ts). No flip grants: the code that parses
 * publisher zips and manifests, the most exposed code, cannot move a channel, write a release
 * record, publish content or invalidate the CDN.
 */
const STAGING_STEP: BucketAccess = {
  read: [all(PREFIX.staging), all(PREFIX.state), all(PREFIX.status)],
  // Only the bookkeeping a staging step writes: verified content, receipts, the editor candidate,
  // its sweeper entry and its release attempt. Not flip records, gc marks or the development pin.
  write: [
    `${keys.verifiedPrefix('*')}*`, keys.archiveReceipt('*', '*'), keys.manifestReceipt('*', '*'), `${keys.editorCandidate('*')}`,
    `${keys.pendingPrefix()}*`, `${RELEASE_ATTEMPTS_PREFIX}*`, all(PREFIX.status), all(PREFIX.quarantine),
  ],
  // The staged object once handled; the sweeper entry once the status is final; an editor build's
  // earlier failed status when the same manifest is sent again.
  delete: [all(PREFIX.staging), `${keys.pendingPrefix()}*`, `${PREFIX.status}*/${EDITOR_UPLOAD}-*`],
  invalidate: false,
};

/**
 * Attempting a release (lib/core/pipeline/release.ts `tryRelease`), which the release function and
 * the sweeper make (order-free completion, I4), after verifying what is still staged: everything a
 * staging step does, plus read release records, pointers and content; write release records and
 * history, the pointer (CAS) and the stable manifest beside it, publish verified content to
 * `content/` (server-side copy); drop handled requests and attempts; invalidate the pointer's paths.
 */
const RELEASE_ATTEMPT: BucketAccess = {
  read: [all(PREFIX.staging), all(PREFIX.state), all(PREFIX.status), all(PREFIX.releases), all(PREFIX.channels), all(PREFIX.content)],
  write: [all(PREFIX.state), all(PREFIX.status), all(PREFIX.quarantine), all(PREFIX.releases), all(PREFIX.channels), contentOf('resources'), contentOf('archives'), contentOf('manifests')],
  delete: [all(PREFIX.staging), `${keys.pendingPrefix()}*`, all(PREFIX.status), `${RELEASE_ATTEMPTS_PREFIX}*`],
  invalidate: true,
};

/** The bucket access of every function, derived from the bucket layout (`lib/core/keys.ts`). */
export const PIPELINE_ACCESS: Readonly<Record<PipelineFunctionName, BucketAccess>> = {
  resource: STAGING_STEP,
  archive: STAGING_STEP,
  manifest: STAGING_STEP,
  release: RELEASE_ATTEMPT,
  // Promote and rollback flip pointers (CAS) with a flip record, claim content from gc, record
  // history and copy the stable manifest out of content/; gc reads release records and pointers,
  // writes its marks, and deletes unreferenced content (released and private) with its receipts.
  // No staging, status or quarantine.
  control: {
    read: [all(PREFIX.state), all(PREFIX.releases), all(PREFIX.channels), all(PREFIX.content)],
    write: [all(PREFIX.channels), all(PREFIX.releases), all(PREFIX.state)],
    delete: [all(PREFIX.content), `${keys.verifiedPrefix('*')}*`, keys.archiveReceipt('*', '*'), keys.manifestReceipt('*', '*'), `${keys.headerReceiptsPrefix('*')}*`],
    invalidate: true,
  },
  // Fails overdue releases, after one last release attempt (which may flip).
  sweeper: RELEASE_ATTEMPT,
};

/** Properties of {@link PipelineFunctions}. */
export interface PipelineFunctionsProps {
  /** The content bucket; its ObjectCreated notifications are generated from `ROUTES`. */
  readonly bucket: s3.IBucket;
  /** The validated studio configuration, passed to every handler as JSON. */
  readonly config: StudioConfig;
  /** Base URL players download from (`https://…/`), written into pointers. */
  readonly cdnBaseUrl: string;
  /** The distribution whose pointer paths are invalidated on each flip (and the only one). */
  readonly distribution: cloudfront.IDistribution;
  /**
   * Memory and timeout per function, merged over the defaults.
   * @default DEFAULT_FUNCTION_SIZING
   */
  readonly sizing?: Partial<Record<PipelineFunctionName, FunctionSizing>>;
  /**
   * How often the sweeper runs.
   * @default Duration.minutes(5)
   */
  readonly sweepInterval?: Duration;
  /**
   * Folder holding the handler entry files.
   * @default - the project's `lambda/` folder
   */
  readonly handlerDir?: string;
  /**
   * Bundle the AWS SDK into each handler instead of using the one the Lambda runtime ships. About
   * 1 MB per bundle (slower cold starts) for running exactly the SDK version the tests ran with
   * (conditional writes, `If-Match` on PutObject, need a recent one).
   * @default true
   */
  readonly bundleAwsSdk?: boolean;
  /**
   * How long function logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}


/**
 * A `NodejsFunction` per pipeline step, the control function and the sweeper; arm64, Node.js 24,
 * bounded memory and timeout, two async retries then an encrypted SQS failure queue, each with
 * its own role holding only {@link PIPELINE_ACCESS} for it, plus the S3 notifications of `ROUTES`.
 *
 * Every function may also list the bucket (`s3:ListBucket`, no prefix condition): S3 answers a
 * HEAD or GET of a missing key with 404 only when the caller may list the bucket, otherwise 403,
 * and the handlers' idempotency checks ("is this digest already under content/?") need the 404.
 * A prefix condition would not help, as a HEAD request carries no `s3:prefix`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
 */
export class PipelineFunctions extends Construct {
  /** Every function, by name. */
  public readonly functions: Readonly<Record<PipelineFunctionName, lambda.IFunction>>;
  /** The operator's control function (promote, rollback, gc), invoked directly. */
  public readonly controlFunction: lambda.IFunction;
  /** Where events land after the two async retries failed: nothing is lost silently. */
  public readonly failureQueue: sqs.IQueue;
  /** The schedule of the sweeper. */
  public readonly sweepRule: events.IRule;

  constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    const configJson = JSON.stringify(props.config);
    const sizing = { ...DEFAULT_FUNCTION_SIZING, ...props.sizing };
    collectProblems(this, [
      ...Object.entries(sizing).flatMap(([name, s]) => validateSizing(name, s)),
      problemIf(
        props.sweepInterval !== undefined && !Token.isUnresolved(props.sweepInterval.toSeconds()) && (props.sweepInterval.toSeconds() < 60 || props.sweepInterval.toSeconds() % 60 !== 0),
        'sweepInterval',
        'a whole number of minutes, at least one',
        props.sweepInterval?.toHumanString(),
        'sweepInterval must be a whole number of minutes (EventBridge rate schedules have minute resolution).',
      ),
    ]);

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter destination (Lambda on-failure destination) of the pipeline functions; a DLQ of the DLQ would only move the same messages.',
    });

    // From the compiled package (dist/lib/constructs), the TypeScript entries are still in lambda/.
    const handlerDir = props.handlerDir ?? [path.resolve(__dirname, '..', '..', 'lambda'), path.resolve(__dirname, '..', '..', '..', 'lambda')].find((d) => fs.existsSync(path.join(d, 'control.ts'))) ?? path.resolve(__dirname, '..', '..', 'lambda');
    const configLayer = studioConfigLayer(this, configJson);
    const make = (name: PipelineFunctionName, description: string, async: boolean) =>
      this.makeFunction(name, description, {
        entry: path.join(handlerDir, FUNCTION_HANDLER_FILES[name]),
        sizing: sizing[name],
        environment: {
          [LAMBDA_ENV.bucketName]: props.bucket.bucketName,
          [LAMBDA_ENV.studioConfigFile]: STUDIO_CONFIG_FILE,
          [LAMBDA_ENV.studioConfigSha256]: createHash('sha256').update(configJson).digest('hex'),
          [LAMBDA_ENV.cdnBaseUrl]: props.cdnBaseUrl,
          [LAMBDA_ENV.distributionId]: props.distribution.distributionId,
          NODE_OPTIONS: '--enable-source-maps',
        },
        bucket: props.bucket,
        distribution: props.distribution,
        failureQueue: async ? this.failureQueue : undefined,
        logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
        bundleAwsSdk: props.bundleAwsSdk ?? true,
        configLayer,
      });

    const functions: Record<PipelineFunctionName, lambda.IFunction> = {
      resource: make('resource', 'Verifies a loose resource arriving in staging/', true),
      archive: make('archive', 'Verifies a zip archive arriving in staging/', true),
      manifest: make('manifest', 'Decodes and validates a manifest arriving in staging/', true),
      release: make('release', 'Handles a release request arriving in staging/', true),
      control: make('control', 'Operator control: promote, rollback, gc (invoked directly)', false),
      sweeper: make('sweeper', 'Marks releases that never complete as failed', true),
    };

    for (const route of ROUTES) {
      props.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(functions[route.step]), {
        prefix: route.prefix,
        suffix: route.suffix,
      });
    }

    // A missed tick is harmless: the next run, minutes later, finds the same overdue releases.
    this.sweepRule = new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the sweeper that fails releases which never complete (invariant I4)',
      schedule: events.Schedule.rate(props.sweepInterval ?? Duration.minutes(5)),
      targets: [new targets.LambdaFunction(functions.sweeper)],
    });

    this.functions = functions;
    this.controlFunction = functions.control;
  }

  private makeFunction(name: PipelineFunctionName, description: string, options: MakeFunctionOptions): lambda.IFunction {
    const id = `${name[0].toUpperCase()}${name.slice(1)}`;
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: options.logRetention });
    // A role of our own instead of the default one, which carries the AWS managed policy
    // AWSLambdaBasicExecutionRole (logs:CreateLogGroup etc. on every log group).
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `LiveUpdate ${name} function`,
    });
    logGroup.grantWrite(role);
    const access = PIPELINE_ACCESS[name];
    grantBucketAccess(role, options.bucket, access);
    acknowledgeObjectWildcards(role, options.bucket, wildcardReasons(new Set([...access.read, ...access.write, ...access.delete])));
    if (access.invalidate) options.distribution.grantCreateInvalidation(role);

    const prebuilt = options.bundleAwsSdk ? prebuiltHandlerDir(name) : undefined;
    if (prebuilt) return new lambda.Function(this, id, { ...functionProps(description, options, role, logGroup), code: lambda.Code.fromAsset(prebuilt), handler: 'index.handler' });
    return new nodejs.NodejsFunction(this, id, {
      ...functionProps(description, options, role, logGroup),
      entry: options.entry,
      handler: 'handler',
      bundling: {
        minify: HANDLER_BUNDLING.minify,
        sourceMap: HANDLER_BUNDLING.sourceMap,
        mainFields: [...HANDLER_BUNDLING.mainFields],
        target: `node${HANDLER_NODE_MAJOR}`,
        format: nodejs.OutputFormat.CJS,
        // See `bundleAwsSdk`: by default the handlers run on the SDK version they were tested with.
        bundleAwsSDK: options.bundleAwsSdk,
      },
    });
  }
}

/**
 * The bundle `npm run build` made of a handler (scripts/build-handlers.cjs), when this code runs
 * from the compiled package: `dist/handlers/<name>/`. Synthesis then needs no esbuild.
 */
function prebuiltHandlerDir(name: PipelineFunctionName): string | undefined {
  const dir = path.resolve(__dirname, '..', '..', 'handlers', name);
  return fs.existsSync(path.join(dir, 'index.js')) ? dir : undefined;
}

/** The props a prebuilt handler's function shares with the bundled one. */
function functionProps(description: string, options: MakeFunctionOptions, role: iam.IRole, logGroup: logs.ILogGroup): Omit<lambda.FunctionProps, 'code' | 'handler'> {
  return {
    description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: options.sizing.memoryMiB,
    timeout: options.sizing.timeout,
    ephemeralStorageSize: Size.mebibytes(512),
    role,
    logGroup,
    layers: [options.configLayer],
    loggingFormat: lambda.LoggingFormat.JSON,
    environment: options.environment,
    retryAttempts: options.failureQueue ? 2 : undefined,
    onFailure: options.failureQueue ? new destinations.SqsDestination(options.failureQueue) : undefined,
  };
}

interface MakeFunctionOptions {
  readonly entry: string;
  readonly sizing: FunctionSizing;
  readonly environment: Record<string, string>;
  readonly bucket: s3.IBucket;
  readonly distribution: cloudfront.IDistribution;
  readonly failureQueue?: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  readonly bundleAwsSdk: boolean;
  readonly configLayer: lambda.ILayerVersion;
}

/**
 * A layer holding the studio configuration at {@link STUDIO_CONFIG_FILE}: written to a folder at
 * synth time and published with the other assets, so its size is not bounded by the 4 KB of
 * environment variables (a 200-game studio deploys); functions check its SHA-256 when they start.
 */
function studioConfigLayer(scope: Construct, configJson: string): lambda.LayerVersion {
  const dir = mkdtempSync(path.join(tmpdir(), 'lup-studio-config-'));
  mkdirSync(path.join(dir, path.dirname(STUDIO_CONFIG_LAYER_PATH)), { recursive: true });
  writeFileSync(path.join(dir, STUDIO_CONFIG_LAYER_PATH), configJson);
  return new lambda.LayerVersion(scope, 'StudioConfig', {
    code: lambda.Code.fromAsset(dir),
    compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
    compatibleArchitectures: [lambda.Architecture.ARM_64],
    description: 'LiveUpdate studio configuration (games, channels, public keys; no secrets)',
  });
}

function grantBucketAccess(role: iam.IRole, bucket: s3.IBucket, access: BucketAccess): void {
  const objects = (patterns: readonly string[]) => patterns.map((p) => bucket.arnForObjects(p));
  const add = (sid: string, action: string, patterns: readonly string[]) => {
    if (patterns.length > 0) role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions: [action], resources: objects(patterns) }));
  };
  add('Read', 's3:GetObject', access.read);
  add('Write', 's3:PutObject', access.write);
  add('Delete', 's3:DeleteObject', access.delete);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'List', actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
}

function validateSizing(name: string, sizing: FunctionSizing): (PropProblem | undefined)[] {
  const seconds = sizing.timeout.toSeconds();
  return [
    problemIf(
      !Number.isInteger(sizing.memoryMiB) || sizing.memoryMiB < 128 || sizing.memoryMiB > 10240,
      `sizing.${name}.memoryMiB`,
      'a whole number of MiB from 128 to 10240',
      sizing.memoryMiB,
      `sizing.${name}.memoryMiB is outside what Lambda allows.`,
    ),
    problemIf(seconds < 1 || seconds > 900, `sizing.${name}.timeout`, 'from 1 second to 15 minutes', sizing.timeout.toHumanString(), `sizing.${name}.timeout is outside what Lambda allows.`),
  ];
}

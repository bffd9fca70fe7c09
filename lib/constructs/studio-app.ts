/**
 * What the CDK app (bin/app.ts) builds from its context: the studio configuration and the stack
 * options of `-c …`, checked before any construct exists, then one studio stack with the cdk-nag
 * AWS Solutions checks. Kept apart from bin/app.ts so tests can synthesise the app in-process.
 */
import { App, Validations, aws_iam as iam } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { formatConfigErrors, loadStudioConfig } from './studio-config-source';
import { PublisherScope, StudioStack } from './studio-stack';

/** Every context key the app reads (`-c key=value`); docs/deploy.md explains each. */
export const STUDIO_APP_CONTEXT_KEYS = ['config', 'studioConfig', 'example', 'publisherScope', 'publisherKeySerial', 'operatorMfa', 'operatorPrincipals'] as const;

/** The stack, or the text to print when the context is wrong (nothing was created then). */
export type DefineStudioAppResponse = { readonly ok: true; readonly stack: StudioStack } | { readonly ok: false; readonly message: string };

/** A `true`/`false` context value (the CDK CLI passes strings), or an error naming the flag. */
function booleanContext(app: App, key: string, meaning: string): boolean | undefined | string {
  const value = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (String(value) === 'true') return true;
  if (String(value) === 'false') return false;
  return `-c ${key}="${String(value)}" is not known. Use -c ${key}=true or -c ${key}=false (${meaning}).`;
}

/** An IAM role, user (paths allowed) or account root ARN, in any partition. */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/;

/**
 * `-c operatorPrincipals=arn1,arn2`: the principals the operator role trusts, or an error naming
 * the value; undefined when not given (the stack then trusts the account).
 */
function principalsContext(app: App): iam.IPrincipal[] | undefined | string {
  const value = app.node.tryGetContext('operatorPrincipals');
  if (value === undefined) return undefined;
  const arns = String(value).split(',').map((a) => a.trim());
  const bad = arns.find((a) => !PRINCIPAL_ARN.test(a));
  if (bad !== undefined) {
    return `-c operatorPrincipals: "${bad}" is not an IAM role, user or account root ARN. Use comma-separated ARNs, `
      + 'e.g. -c operatorPrincipals=arn:aws:iam::123456789012:role/ci-deployer,arn:aws:iam::123456789012:user/oncall.';
  }
  return arns.map((arn) => new iam.ArnPrincipal(arn));
}

/** Read the app's context, validate it (the configuration reports every problem at once), and add the studio stack. */
export function defineStudioApp(app: App): DefineStudioAppResponse {
  const example = booleanContext(app, 'example', 'true deploys the example games of examples/studio.json when no -c config is given');
  if (typeof example === 'string') return { ok: false, message: example };
  const loaded = loadStudioConfig({
    configFile: app.node.tryGetContext('config'),
    configJson: app.node.tryGetContext('studioConfig'),
    example,
  });
  if (!loaded.ok) return { ok: false, message: formatConfigErrors(loaded.source, loaded.errors) };

  const publisherScope = (app.node.tryGetContext('publisherScope') ?? 'studio') as string;
  if (publisherScope !== 'studio' && publisherScope !== 'game') {
    return { ok: false, message: `-c publisherScope="${publisherScope}" is not known. Use -c publisherScope=studio (one publisher) or -c publisherScope=game (one per game).` };
  }
  const serialText = app.node.tryGetContext('publisherKeySerial');
  const publisherKeySerial = serialText === undefined ? undefined : Number(serialText);

  // -c operatorMfa=false drops the MFA condition from the operator role's trust policy (docs/deploy.md).
  const operatorMfa = booleanContext(app, 'operatorMfa', 'false lets operators assume the role without MFA; default: MFA required');
  if (typeof operatorMfa === 'string') return { ok: false, message: operatorMfa };
  // -c operatorPrincipals=arn1,arn2: who may assume the operator role (default: the account).
  const operatorPrincipals = principalsContext(app);
  if (typeof operatorPrincipals === 'string') return { ok: false, message: operatorPrincipals };

  const stack = new StudioStack(app, `Lup-${loaded.config.studio}`, {
    config: loaded.config,
    operatorRequiresMfa: operatorMfa,
    ...(operatorPrincipals ? { operatorPrincipals } : {}),
    publisherScope: publisherScope as PublisherScope,
    publisherKeySerial,
    description: `Defold LiveUpdate publishing pipeline of studio ${loaded.config.studio}`,
    // No `env`: the template is environment-agnostic, so `cdk synth` gives the same result with or
    // without credentials, and `cdk deploy` targets the account and region of the current profile.
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { ok: true, stack };
}

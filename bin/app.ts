/**
 * The CDK app: one studio stack per deployment.
 *
 *   npx cdk synth  -c config=path/to/studio.json          (default: examples/studio.json)
 *   npx cdk deploy -c studioConfig='{"games":[…]}'
 *   optional: -c publisherScope=game   -c publisherKeySerial=2
 *
 * The configuration is validated before any construct exists; every problem is printed, naming
 * its field, and the app exits non-zero. The AWS Solutions checks of cdk-nag run on every
 * synthesis.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { formatConfigErrors, loadStudioConfig } from '../lib/constructs/studio-config-source';
import { PublisherScope, StudioStack } from '../lib/constructs/studio-stack';

const app = new App();

const loaded = loadStudioConfig({
  configFile: app.node.tryGetContext('config'),
  configJson: app.node.tryGetContext('studioConfig'),
});
if (!loaded.ok) {
  console.error(formatConfigErrors(loaded.source, loaded.errors));
  process.exit(1);
}

const publisherScope = (app.node.tryGetContext('publisherScope') ?? 'studio') as string;
if (publisherScope !== 'studio' && publisherScope !== 'game') {
  console.error(`-c publisherScope="${publisherScope}" is not known. Use -c publisherScope=studio (one publisher) or -c publisherScope=game (one per game).`);
  process.exit(1);
}
const serialText = app.node.tryGetContext('publisherKeySerial');
const publisherKeySerial = serialText === undefined ? undefined : Number(serialText);

// -c operatorMfa=false drops the MFA condition from the operator role's trust policy (docs/deploy.md).
const operatorMfa = app.node.tryGetContext('operatorMfa');
if (operatorMfa !== undefined && String(operatorMfa) !== 'true' && String(operatorMfa) !== 'false') {
  console.error(`-c operatorMfa="${String(operatorMfa)}" is not known. Use -c operatorMfa=false to let operators assume the role without MFA (default: MFA required).`);
  process.exit(1);
}

new StudioStack(app, `Lup-${loaded.config.studio}`, {
  config: loaded.config,
  operatorRequiresMfa: operatorMfa === undefined ? undefined : String(operatorMfa) === 'true',
  publisherScope: publisherScope as PublisherScope,
  publisherKeySerial,
  description: `Defold LiveUpdate publishing pipeline of studio ${loaded.config.studio}`,
  // No `env`: the template is environment-agnostic, so `cdk synth` gives the same result with or
  // without credentials, and `cdk deploy` targets the account and region of the current profile.
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

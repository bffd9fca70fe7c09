/**
 * The CDK app: one studio stack per deployment.
 *
 *   npx cdk deploy -c config=path/to/studio.json          (required: there is no default)
 *   npx cdk deploy -c studioConfig='{"games":[…]}'
 *   npx cdk synth  -c example=true                         (the example games of examples/studio.json)
 *   optional: -c publisherScope=game   -c publisherKeySerial=2   -c operatorMfa=false
 *             -c operatorPrincipals=arn:aws:iam::<account>:role/<name>,…
 *
 * The context is validated before any construct exists (lib/constructs/studio-app.ts); every
 * configuration problem is printed, naming its field, and the app exits non-zero. The AWS
 * Solutions checks of cdk-nag run on every synthesis.
 */
import { App } from 'aws-cdk-lib';
import { defineStudioApp } from '../lib/constructs/studio-app';

const defined = defineStudioApp(new App());
if (!defined.ok) {
  console.error(defined.message);
  process.exit(1);
}

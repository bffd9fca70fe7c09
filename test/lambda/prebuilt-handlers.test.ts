/**
 * scripts/build-handlers.cjs bundles the step handlers of lib/routes.ts plus control and sweeper
 * without loading aws-cdk-lib; this keeps its list in step with the stack's functions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTION_HANDLER_FILES } from '../../lib/constructs/pipeline-functions';
import { STEP_HANDLER_FILES } from '../../lib/routes';

it('prebuilds a bundle for every function of the stack', () => {
  const script = readFileSync(join(__dirname, '..', '..', 'scripts', 'build-handlers.cjs'), 'utf8');
  const extra = Object.fromEntries(Object.entries(FUNCTION_HANDLER_FILES).filter(([name]) => !(name in STEP_HANDLER_FILES)));
  expect(extra).toEqual({ control: 'control.ts', sweeper: 'sweeper.ts' });
  expect(script).toContain("const files = { ...STEP_HANDLER_FILES, control: 'control.ts', sweeper: 'sweeper.ts' };");
});

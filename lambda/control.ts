/**
 * Lambda: the operators' control entry (promote, rollback, staged rollouts, garbage collection), invoked directly
 * by `lup` with the operator role. It runs the same compare-and-swap flip as a release.
 */
import { parseControlRequest, runControl, type ControlResponse } from '../lib/core/pipeline/control';
import { isLupError } from '../lib/core/errors';
import { pipelineContext } from './runtime';

/** Errors come back as data (`{ error }`), so the CLI prints the same message as locally. */
export const handler = async (request: unknown): Promise<ControlResponse | { error: unknown }> => {
  try {
    return await runControl(pipelineContext(), parseControlRequest(request));
  } catch (error) {
    if (isLupError(error)) return { error: error.toJSON() };
    throw error;
  }
};

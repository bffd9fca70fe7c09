/** Lambda, every few minutes: fails releases that never completed, listing what is missing (I4). */
import { sweepIncompleteReleases } from '../lib/core/pipeline/sweeper';
import { pipelineContext } from './runtime';

export const handler = async (): Promise<{ failed: number; errors: number }> => {
  const report = await sweepIncompleteReleases(pipelineContext());
  return { failed: report.failed.length, errors: report.errors.length };
};

/** Lambda, every few minutes: fails releases that never completed, listing what is missing (I4). */
import { sweepIncompleteReleases } from '../lib/core/pipeline/sweeper';
import { pipelineContext } from './runtime';

export const handler = async (): Promise<{ failed: number }> => {
  const failed = await sweepIncompleteReleases(pipelineContext());
  return { failed: failed.length };
};

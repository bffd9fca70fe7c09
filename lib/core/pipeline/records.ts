/**
 * Reading the channel pointer and release records through their codecs, with errors that name
 * what is missing.
 */
import { lupError } from '../errors';
import { keys } from '../keys';
import { pointerCodec, type ChannelPointer } from '../documents/pointer';
import { releaseRecordCodec, type ReleaseRecord } from '../documents/release-record';
import type { PipelineContext } from './context';
import { readJson } from './documents';

/** The pointer of a channel; `CHANNEL_EMPTY` when the channel has no release yet. */
export async function readPointer(context: PipelineContext, game: string, channel: string): Promise<ChannelPointer> {
  const key = keys.pointer(game, channel);
  const pointer = await readJson(context.store, key, pointerCodec);
  if (!pointer) {
    throw lupError({ code: 'CHANNEL_EMPTY', location: { key }, expected: 'a live release', actual: 'no pointer', message: `Channel "${channel}" of game "${game}" has no release yet.` });
  }
  return pointer.value;
}

/** Read a release record; `RELEASE_NOT_FOUND` names the release when it does not exist. */
export async function readRelease(context: PipelineContext, game: string, releaseId: string): Promise<ReleaseRecord> {
  const key = keys.release(game, releaseId);
  const record = await readJson(context.store, key, releaseRecordCodec);
  if (!record) {
    throw lupError({ code: 'RELEASE_NOT_FOUND', location: { key }, expected: `release ${releaseId} of game ${game}`, actual: 'none', message: `Game "${game}" has no release "${releaseId}"; see \`lup releases\`.` });
  }
  return record.value;
}

/**
 * Flip records: one small document per flip a request attempted, written before the pointer PUT and
 * kept, so that a retried flip is never applied twice — however many other flips happened since
 * (the pointer itself remembers only the last {@link POINTER_HISTORY_LENGTH}).
 *
 * Before every PUT attempt the record says which sequence the attempt targets (`pending`); after a
 * successful PUT it says `applied`. A retry that finds a `pending` record learns whether that PUT
 * happened from the flip that holds that sequence (the pointer's history, or the create-only history
 * record of that sequence): ours, or another request's. Nothing else is needed to decide.
 */
import { createHash } from 'node:crypto';
import { lupError } from '../errors';
import { keys } from '../keys';
import type { ChannelPointer, FlipCause, FlipEntry } from '../documents/pointer';
import type { PipelineContext } from './context';
import { readJson } from './documents';

/** What a flip record says. */
export interface FlipRecord {
  readonly schemaVersion: 1;
  readonly game: string;
  readonly channel: string;
  readonly requestId: string;
  readonly releaseId: string;
  readonly cause: FlipCause;
  /** `pending`: a PUT for `sequence` may or may not have happened; `applied`: it did. */
  readonly state: 'pending' | 'applied';
  /** The sequence the (last) attempt targeted. */
  readonly sequence: number;
  readonly at: string;
}

/** Key of the flip record of a request on a channel. */
export function flipRecordKey(game: string, channel: string, requestId: string): string {
  return keys.flipRecord(game, channel, createHash('sha256').update(requestId).digest('hex'));
}

/** The flip record of a request, if it ever attempted a flip. */
export async function readFlipRecord(context: PipelineContext, game: string, channel: string, requestId: string): Promise<FlipRecord | undefined> {
  return (await readJson<FlipRecord>(context.store, flipRecordKey(game, channel, requestId)))?.value;
}

/** Write (or overwrite: the record belongs to its request alone) a flip record. */
export async function writeFlipRecord(context: PipelineContext, record: FlipRecord): Promise<void> {
  await context.store.put(flipRecordKey(record.game, record.channel, record.requestId), `${JSON.stringify(record, null, 2)}\n`, { contentType: 'application/json' });
}

/**
 * Did the flip a record describes land? The flip that holds the record's sequence tells, for
 * `applied` records too: a record alone is never trusted (a forged `applied` record must not make a
 * release look live while the pointer never moved). Throws `INTERNAL` when that flip cannot be found (the history record of
 * a sequence the pointer has passed is missing): refusing to guess is what prevents a downgrade.
 */
export async function flipLanded(context: PipelineContext, record: FlipRecord, pointer: ChannelPointer | undefined): Promise<boolean> {
  if (!pointer || pointer.sequence < record.sequence) return false;
  const inPointer = pointer.history.find((h) => h.sequence === record.sequence);
  if (inPointer) return inPointer.requestId === record.requestId;
  const historyKey = keys.history(record.game, record.channel, record.sequence);
  const entry = (await readJson<FlipEntry>(context.store, historyKey))?.value;
  if (!entry) {
    throw lupError({
      code: 'INTERNAL', location: { key: historyKey },
      expected: `the history record of sequence ${record.sequence}`, actual: 'none',
      message: `Cannot tell whether flip ${record.requestId} landed on ${record.game}/${record.channel}; it is not applied again. Check \`lup releases\`.`,
    });
  }
  return entry.requestId === record.requestId;
}

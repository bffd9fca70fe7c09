/**
 * Garbage collection's marks, and how releases take marked content back: the mark-and-sweep protocol
 * that keeps I1 ("every object a live pointer references exists") while gc and releases run at once.
 *
 * One document per game (`state/<game>/_gc/marks.json`) lists the keys gc found unreferenced, each
 * with when it was first marked; every change to it is a compare-and-swap, so gc and releases are
 * serialised on it:
 *
 * - gc run N marks what it finds unreferenced (a key already marked keeps its time) and, in the same
 *   write, *condemns* what has been marked for longer than the grace period; only then does it delete
 *   condemned objects, and after deleting, drops their entries.
 * - a release (or promote, or rollback) *claims* every key it is about to serve before it publishes
 *   or flips: marked keys are unmarked in one write; a condemned key fails the release loudly.
 *
 * Why it holds: a key the release claimed is unmarked after the claim; a gc run that still finds it
 * unreferenced can only mark it afresh, and condemns it no sooner than one grace period later. The
 * release flips well within that period (it re-claims if it has taken half of it), after which the
 * key is referenced by the pointer and gc drops the mark. If gc condemned the key first, the claim
 * sees it and the release fails instead of pointing at content that is about to go.
 */
import { lupError } from '../errors';
import { keys } from '../keys';
import type { PipelineContext } from './context';
import { readJson, updateJson } from './documents';

/** One marked key. */
export interface GcMark {
  /** When gc first found the key unreferenced. */
  readonly markedAt: string;
  /** Set once the grace period has passed: gc deletes it next, releases may not use it. */
  readonly condemned?: true;
}

/** The marks document. */
export interface GcMarks {
  readonly schemaVersion: 1;
  readonly marks: Readonly<Record<string, GcMark>>;
}

/** Keys one marks document holds at most; gc marks the rest on a later run. */
export const MAX_GC_MARKS = 20_000;
/**
 * Bytes one marks document may take, well under the bookkeeping read bound (documents.ts): with long
 * game ids and 128-hex resource names 20,000 marks would not fit, and every claim would then fail.
 */
export const MAX_GC_MARK_BYTES = 3 * 1024 * 1024;
/** What one mark adds to the document besides its key (quotes, time, `condemned`, punctuation). */
const MARK_OVERHEAD_BYTES = 70;

/** Read the marks of a game (none when gc never ran). */
export async function readMarks(context: PipelineContext, game: string): Promise<GcMarks> {
  return (await readJson<GcMarks>(context.store, keys.gcMarks(game)))?.value ?? { schemaVersion: 1, marks: {} };
}

/**
 * Take back the keys a release is about to serve: unmark the marked ones in one compare-and-swap.
 * Fails with `RELEASE_INCOMPLETE` naming the keys gc has already condemned (it is deleting them).
 * Returns when the claim was made (the caller must flip within half a grace period of it).
 */
export async function claimContent(context: PipelineContext, game: string, needed: Iterable<string>): Promise<Date> {
  const wanted = [...new Set(needed)];
  await updateJson<GcMarks>(context.store, keys.gcMarks(game), (current) => {
    if (!current) return undefined;
    const condemned = wanted.filter((k) => current.marks[k]?.condemned);
    if (condemned.length > 0) {
      throw lupError({
        code: 'RELEASE_INCOMPLETE', location: { key: condemned[0] },
        expected: 'content not being deleted by garbage collection',
        actual: `${condemned.length} object(s) condemned by gc: ${condemned.slice(0, 5).join(', ')}${condemned.length > 5 ? ', …' : ''}`,
        message: 'Garbage collection is deleting content this release needs (unreferenced for longer than the grace period); publish the release again once gc has finished.',
      });
    }
    const marked = wanted.filter((k) => current.marks[k] !== undefined);
    if (marked.length === 0) return undefined;
    const marks = { ...current.marks };
    for (const k of marked) delete marks[k];
    return { schemaVersion: 1, marks };
  });
  return context.clock.now();
}

/** The outcome of one marking pass. */
export interface MarkingResult {
  /** Keys marked (newly or still), not yet condemned. */
  readonly marked: readonly string[];
  /** Keys condemned by this pass or an earlier one that did not finish: delete these. */
  readonly condemned: readonly string[];
  /** Unreferenced keys left unmarked because the document is full. */
  readonly deferred: number;
}

/**
 * One compare-and-swap of the marks: mark every unreferenced key (keeping the time of an earlier
 * mark), condemn marks older than the grace period, forget marks of keys that are referenced again.
 * Condemned entries stay until {@link forgetDeleted}: a release that needs one must keep failing
 * until it is really gone.
 */
export async function markUnreferenced(context: PipelineContext, game: string, unreferenced: readonly string[], graceMs: number): Promise<MarkingResult> {
  const now = context.clock.now();
  let result: MarkingResult = { marked: [], condemned: [], deferred: 0 };
  await updateJson<GcMarks>(context.store, keys.gcMarks(game), (current) => {
    const previous = current?.marks ?? {};
    const marks: Record<string, GcMark> = {};
    const marked: string[] = [];
    const condemned: string[] = [];
    // Running totals: counting the keys of `marks` for every key made marking quadratic.
    let count = 0;
    let bytes = 64;
    for (const [key, mark] of Object.entries(previous)) {
      if (mark.condemned) {
        marks[key] = mark;
        condemned.push(key);
        count += 1;
        bytes += key.length + MARK_OVERHEAD_BYTES;
      }
    }
    let deferred = 0;
    for (const key of unreferenced) {
      if (marks[key]) continue;
      if (count >= MAX_GC_MARKS || bytes + key.length + MARK_OVERHEAD_BYTES > MAX_GC_MARK_BYTES) {
        deferred += 1;
        continue;
      }
      count += 1;
      bytes += key.length + MARK_OVERHEAD_BYTES;
      const markedAt = previous[key]?.markedAt ?? now.toISOString();
      if (now.getTime() - Date.parse(markedAt) >= graceMs) {
        marks[key] = { markedAt, condemned: true };
        condemned.push(key);
      } else {
        marks[key] = { markedAt };
        marked.push(key);
      }
    }
    result = { marked, condemned, deferred };
    const unchanged = current && Object.keys(marks).length === Object.keys(previous).length
      && Object.entries(marks).every(([k, m]) => previous[k]?.markedAt === m.markedAt && previous[k]?.condemned === m.condemned);
    return unchanged || (!current && Object.keys(marks).length === 0) ? undefined : { schemaVersion: 1, marks };
  });
  return result;
}

/** Drop the entries of condemned keys that are deleted now. */
export async function forgetDeleted(context: PipelineContext, game: string, deleted: readonly string[]): Promise<void> {
  if (deleted.length === 0) return;
  await updateJson<GcMarks>(context.store, keys.gcMarks(game), (current) => {
    if (!current) return undefined;
    const marks = { ...current.marks };
    let changed = false;
    for (const key of deleted) {
      if (marks[key]?.condemned) {
        delete marks[key];
        changed = true;
      }
    }
    return changed ? { schemaVersion: 1, marks } : undefined;
  });
}

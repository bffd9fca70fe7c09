/**
 * The model-based check of the pipeline shared by `test/core/pipeline/model.test.ts` (CI, ≥ 1 000 sequences) and
 * `bench/soak.ts` (≥ 100 000): random sequences of publishes (loose and zip), concurrent
 * publishes, rollbacks, promotions, staged-rollout operations and garbage collection on the {@link PipelineSimulator}, with
 * injected faults (duplicate and reordered events, a crash at a random write followed by Lambda's
 * retry, corrupted, truncated and missing uploads, content from another project, engine or key).
 * After every operation the simulator is checked against a model of what each channel must
 * point at and of what each upload must end as:
 *
 * - I1 verified-only: `violations()` (every object under content/ matches its digest, every
 *   object a pointer references exists);
 * - I2 atomic flip: the pointer names a complete release, its sequence only grows and moves by
 *   exactly one per flip, and it names the release the model expects (for two concurrent
 *   publishes: both flipped, none lost, the later flip wins);
 * - I3 idempotent: the same sequence run without delivery faults (no crash, no duplicate, arrival
 *   order) ends in the same bucket, compared key by key; every event eventually succeeds (no
 *   dead letter);
 * - I4 order-free: every upload ends live, refused or — when its content never arrives — failed by
 *   the sweeper after the release timeout, with the missing names listed;
 * - I5 no silent downgrade: another project, an unsupported engine or a missing signature is
 *   refused with the code that names the mismatch.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { validateStudioConfig, type StudioConfig } from '../../lib/core/config';
import { hashHex } from '../../lib/core/format/digest';
import { isLupError } from '../../lib/core/errors';
import { keys } from '../../lib/core/keys';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import type { UploadStatus } from '../../lib/core/documents/upload-status';
import { createContent, type FactoryContent } from '../../lib/factory/content-factory';
import { zipContent } from '../../lib/factory/write-content';
import { PipelineSimulator } from './simulator';

export const GAME = 'g';
const CHANNELS = ['stable', 'beta'] as const;
type Channel = (typeof CHANNELS)[number];
const PROJECT = 'Model Game';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** How the events of one operation are delivered. */
export interface Delivery {
  readonly shuffle: boolean;
  readonly duplicateRate: number;
  /** Crash before the n-th write of the operation's pipeline work (then Lambda retries). */
  readonly crashAtWrite?: number;
  /** CDN invalidations that fail (after the pointer PUT: the step fails and Lambda retries it). */
  readonly invalidationFailures?: number;
}

/** What is wrong with a published upload, if anything. */
export type Flaw = 'none' | 'bitflip' | 'truncate' | 'omit' | 'lost-event' | 'foreign-project' | 'old-engine' | 'unsigned';

export interface PublishSpec {
  readonly mode: 'loose' | 'zip';
  /** Which of the prepared contents (0..CONTENTS-1). */
  readonly content: number;
  readonly channel: Channel;
  readonly flaw: Flaw;
}

export type Operation =
  | { readonly kind: 'publish'; readonly publish: PublishSpec; readonly delivery: Delivery }
  | { readonly kind: 'concurrent'; readonly a: PublishSpec; readonly b: PublishSpec; readonly delivery: Delivery }
  | { readonly kind: 'rollback'; readonly channel: Channel; readonly crash: boolean }
  | { readonly kind: 'promote'; readonly crash: boolean }
  | { readonly kind: 'gc'; readonly advanceDays: number }
  | { readonly kind: 'rollout'; readonly channel: Channel; readonly steps: readonly RolloutStep[] };

/** One staged-rollout operation (a `rollout` operation runs one to four in a row, to reach past `start`). */
export interface RolloutStep { readonly op: 'start' | 'set' | 'halt' | 'complete' | 'abort'; readonly share: number; readonly crash: boolean }

const CONTENTS = 3;

/** Tiny contents signed with the studio key, and the flawed variants. */
export interface Fixtures {
  readonly config: StudioConfig;
  readonly privateKey: KeyObject;
  readonly valid: readonly { content: FactoryContent; zip: Uint8Array }[];
  readonly foreign: { content: FactoryContent; zip: Uint8Array };
  readonly oldEngine: { content: FactoryContent; zip: Uint8Array };
  readonly unsigned: { content: FactoryContent; zip: Uint8Array };
}

export async function makeFixtures(): Promise<Fixtures> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const raw = {
    studio: 'model',
    games: [{ id: GAME, projectTitle: PROJECT, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), supportedEngineVersions: ['1.9.0'], channels: [...CHANNELS], publisherChannels: [...CHANNELS] }],
  };
  const result = validateStudioConfig(raw);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  const make = async (seed: number, extra: { projectTitle?: string; engineVersions?: string[]; privateKey?: KeyObject | null }) => {
    const content = createContent({
      seed, resourceCount: 5, bundledFraction: 0.2, projectTitle: extra.projectTitle ?? PROJECT, engineVersions: extra.engineVersions ?? ['1.9.0'],
      ...(extra.privateKey === null ? {} : { privateKey: extra.privateKey ?? privateKey }),
    });
    return { content, zip: await zipContent(content) };
  };
  return {
    config: result.config,
    privateKey,
    valid: await Promise.all(Array.from({ length: CONTENTS }, (_, i) => make(100 + i, {}))),
    foreign: await make(200, { projectTitle: 'Another Game' }),
    oldEngine: await make(201, { engineVersions: ['1.8.0'] }),
    unsigned: await make(202, { privateKey: null }),
  };
}

// ---- generators --------------------------------------------------------------------------

const deliveryArb: fc.Arbitrary<Delivery> = fc.record({
  shuffle: fc.boolean(),
  duplicateRate: fc.constantFrom(0, 0, 0.3, 0.6),
  crashAtWrite: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  // With a crash, one event may fail twice; Lambda's third attempt then succeeds.
  invalidationFailures: fc.constantFrom(0, 0, 1),
});

const publishArb: fc.Arbitrary<PublishSpec> = fc.record({
  mode: fc.constantFrom('loose' as const, 'zip' as const),
  content: fc.integer({ min: 0, max: CONTENTS - 1 }),
  channel: fc.constantFrom(...CHANNELS),
  flaw: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Flaw>('none') },
    { weight: 4, arbitrary: fc.constantFrom<Flaw>('bitflip', 'truncate', 'omit', 'lost-event', 'foreign-project', 'old-engine', 'unsigned') },
  ),
});

export const operationArb: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('publish' as const), publish: publishArb, delivery: deliveryArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('concurrent' as const), a: publishArb, b: publishArb, delivery: deliveryArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rollback' as const), channel: fc.constantFrom(...CHANNELS), crash: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('promote' as const), crash: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('gc' as const), advanceDays: fc.constantFrom(0, 8) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('rollout' as const), channel: fc.constantFrom(...CHANNELS),
      steps: fc.array(fc.record({
        op: fc.constantFrom('start' as const, 'start' as const, 'set' as const, 'set' as const, 'halt' as const, 'complete' as const, 'abort' as const),
        share: fc.integer({ min: 1, max: 10_000 }), crash: fc.boolean(),
      }), { minLength: 1, maxLength: 4 }),
    }),
  },
);

/** A sequence: a delivery seed and 1..maxLength operations. */
export function sequenceArb(maxLength: number): fc.Arbitrary<{ seed: number; operations: Operation[] }> {
  return fc.record({ seed: fc.integer({ min: 1, max: 0x7fffffff }), operations: fc.array(operationArb, { minLength: 1, maxLength }) });
}

// ---- the model ------------------------------------------------------------------------------

interface ChannelModel {
  sequence: number;
  releaseId: string;
  /**
   * Releases a rollback can go back to, the current one on top: a release or promote pushes, a
   * rollback pops back to the release below (stepping over what was rolled away from), so
   * repeated rollbacks keep going back instead of toggling.
   */
  stack: string[];
  /** The staged rollout on the channel, when one runs. */
  rollout?: { readonly candidate: string; readonly share: number; readonly state: 'active' | 'halted' };
}

interface Expected {
  readonly upload: string;
  readonly state: 'live' | 'refused' | 'failed';
  /** Also acceptable: content verified by a concurrent upload may or may not be there in time. */
  readonly orLive?: boolean;
  /** For refusals: one of these codes must be among the status errors. */
  readonly codes?: readonly string[];
  readonly channel: Channel;
}

/** Codes a changed or cut byte may be refused with: it never matches its digest, or the zip is unreadable. */
const CORRUPTION_CODES = [
  'RESOURCE_DIGEST_MISMATCH', 'RESOURCE_HEADER_INVALID', 'RESOURCE_SIZE_MISMATCH', 'RESOURCE_NOT_IN_MANIFEST', 'RESOURCE_MISSING',
  'ARCHIVE_UNREADABLE', 'ARCHIVE_ENTRY_CORRUPT', 'ARCHIVE_NO_MANIFEST', 'ARCHIVE_ENTRY_NAME_UNSAFE', 'ARCHIVE_RATIO_EXCEEDED', 'RELEASE_INCOMPLETE',
] as const;

/** Expected end of an upload with this flaw. */
function expectation(spec: PublishSpec, upload: string): Expected {
  const base = { upload, channel: spec.channel };
  switch (spec.flaw) {
    case 'none': return { ...base, state: 'live' };
    case 'bitflip':
    case 'truncate': return { ...base, state: 'refused', codes: [...CORRUPTION_CODES] };
    // The request finds nothing staged and content missing, so it refuses at once.
    case 'omit': return { ...base, state: 'refused', codes: spec.mode === 'loose' ? ['RESOURCE_MISSING'] : ['RELEASE_INCOMPLETE'] };
    // An object waits in staging and its step never runs. Loose: the release request's step
    // verifies what is still staged itself, so the release completes all the same. Zip: the upload
    // waits; past the release timeout the sweeper completes it or fails it (either ends it).
    case 'lost-event': return spec.mode === 'loose' ? { ...base, state: 'live' } : { ...base, state: 'failed', orLive: true, codes: ['RELEASE_INCOMPLETE'] };
    case 'foreign-project': return { ...base, state: 'refused', codes: ['MANIFEST_PROJECT_MISMATCH'] };
    case 'old-engine': return { ...base, state: 'refused', codes: ['MANIFEST_ENGINE_UNSUPPORTED'] };
    case 'unsigned': return { ...base, state: 'refused', codes: ['SIGNATURE_MISSING'] };
  }
}

/** One run of a sequence; returns what was observed (for the I3 comparison) or throws on a violation. */
export async function runSequence(
  fixtures: Fixtures,
  sequence: { seed: number; operations: readonly Operation[] },
  options: { faults: boolean },
): Promise<{ state: Record<string, unknown>; orderDependent: readonly string[] }> {
  const sim = new PipelineSimulator({ seed: sequence.seed }, fixtures.config);
  /** Uploads whose outcome depends on the delivery order (see `orLive`). */
  const orderDependent: string[] = [];
  const model: Partial<Record<Channel, ChannelModel>> = {};
  const fail = (step: number, what: string): never => {
    throw new Error(`operation ${step} (${JSON.stringify(sequence.operations[step])}): ${what}`);
  };
  let uploads = 0;
  let pendingFailures: Expected[] = [];
  /** Uploads failed by the sweeper: their staged leftovers wait for the lifecycle expiry. */
  const abandoned = new Set<string>();

  const stage = async (spec: PublishSpec, upload: string): Promise<void> => {
    const source = spec.flaw === 'foreign-project' ? fixtures.foreign : spec.flaw === 'old-engine' ? fixtures.oldEngine : spec.flaw === 'unsigned' ? fixtures.unsigned : fixtures.valid[spec.content];
    // A resource unique to this upload, so that a missing one is a digest nobody verified before.
    const content = (spec.flaw === 'omit' || spec.flaw === 'lost-event') && spec.mode === 'loose'
      ? createContent({ seed: 10_000 + uploads, resourceCount: 3, bundledFraction: 0, projectTitle: PROJECT, engineVersions: ['1.9.0'], privateKey: fixtures.privateKey })
      : source.content;
    const firstResource = content.resources[0]?.name;
    await sim.stageUpload({
      game: GAME, upload, channel: spec.channel, content, zip: spec.mode === 'zip' ? source.zip : undefined,
      omit: spec.flaw === 'omit' ? (name) => (spec.mode === 'zip' ? name.endsWith('.zip') : name === firstResource) : undefined,
      loseEvent: spec.flaw === 'lost-event' ? (name) => (spec.mode === 'zip' ? name.endsWith('.zip') : name === firstResource) : undefined,
      replace: spec.flaw === 'bitflip' || spec.flaw === 'truncate'
        ? (name, bytes) => {
          const target = spec.mode === 'zip' ? name.endsWith('.zip') : name === firstResource;
          if (!target) return bytes;
          if (spec.flaw === 'truncate') return bytes.subarray(0, Math.max(0, bytes.length - 1 - (uploads % Math.max(1, bytes.length - 1))));
          const copy = Uint8Array.from(bytes);
          if (spec.mode === 'zip') {
            // Flip a byte of the first resource entry's payload (stored after the manifest entry),
            // found by its name in the local header: the zip stays readable, the entry does not match.
            const at = Buffer.from(copy).indexOf(Buffer.from(content.resources[0].name)) + content.resources[0].name.length + 20;
            copy[Math.min(at, copy.length - 1)] ^= 0x5a;
          } else {
            copy[16 + (uploads % Math.max(1, copy.length - 16))] ^= 0x01;
          }
          return copy;
        }
        : undefined,
    });
  };

  const drain = async (step: number, delivery: Delivery): Promise<void> => {
    sim.setDelivery(options.faults ? { shuffle: delivery.shuffle, duplicateRate: delivery.duplicateRate } : {});
    if (options.faults && delivery.crashAtWrite !== undefined) sim.store.crashAtWrite(delivery.crashAtWrite);
    if (options.faults && delivery.invalidationFailures) sim.cdn.failNext(delivery.invalidationFailures);
    await sim.drain();
    if (sim.deadLetters.length > 0) fail(step, `dead letters: ${sim.deadLetters.map((d) => `${d.key}: ${String(d.error)}`).join('; ')}`);
  };

  const checkUpload = async (step: number, expected: Expected): Promise<void> => {
    const status = await sim.json<UploadStatus>(keys.status(GAME, expected.upload));
    if (!status) fail(step, `upload ${expected.upload} has no status`);
    if (expected.orLive && status!.state === 'live') return;
    if (status!.state !== expected.state) fail(step, `upload ${expected.upload} ended ${status!.state} (${JSON.stringify(status!.errors.map((e) => e.code))}), expected ${expected.state}`);
    if (expected.codes && !status!.errors.some((e) => expected.codes!.includes(e.code))) {
      fail(step, `upload ${expected.upload} ${status!.state} with ${JSON.stringify(status!.errors.map((e) => `${e.code}: ${e.message}`))}, expected one of ${expected.codes.join(', ')}`);
    }
    // Failed: it names what is missing, or (when everything needed is verified and a staged object
    // whose step never ran holds the release back) says that staged content is still waiting.
    if (expected.state === 'failed' && !(status!.missing && status!.missing.length > 0) && !status!.errors.some((e) => /staged/.test(String(e.actual)))) {
      fail(step, `failed upload ${expected.upload} names neither missing content nor the staged content it waits for: ${JSON.stringify(status!.errors)}`);
    }
  };

  const flipped = (channel: Channel, releaseId: string): void => {
    const m = model[channel] ?? { sequence: 0, releaseId: '', stack: [] };
    // A rollout stays across other flips, unless the new release is its candidate.
    const rollout = m.rollout && m.rollout.candidate !== releaseId ? { rollout: m.rollout } : {};
    model[channel] = { sequence: m.sequence + 1, releaseId, stack: [...m.stack, releaseId], ...rollout };
  };
  const rollbackTarget = (m: ChannelModel): string[] | undefined => {
    const rest = m.stack.slice(0, -1);
    while (rest.length > 0 && rest[rest.length - 1] === m.releaseId) rest.pop();
    return rest.length > 0 ? rest : undefined;
  };

  const checkAll = async (step: number): Promise<void> => {
    const violations = await sim.violations();
    if (violations.length > 0) fail(step, violations.join('; '));
    for (const channel of CHANNELS) {
      const pointer = await sim.json<ChannelPointer>(keys.pointer(GAME, channel));
      const m = model[channel];
      if (!m) {
        if (pointer) fail(step, `${channel} has a pointer (${pointer.releaseId}) the model does not expect`);
        continue;
      }
      if (!pointer) fail(step, `${channel} has no pointer; expected ${m.releaseId} at ${m.sequence}`);
      if (pointer!.sequence !== m.sequence || pointer!.releaseId !== m.releaseId) {
        fail(step, `${channel} points at ${pointer!.releaseId} #${pointer!.sequence}; expected ${m.releaseId} #${m.sequence}`);
      }
      const rollout = pointer!.rollout ? { candidate: pointer!.rollout.releaseId, share: pointer!.rollout.share, state: pointer!.rollout.state } : undefined;
      if (JSON.stringify(rollout) !== JSON.stringify(m.rollout)) fail(step, `${channel} has rollout ${JSON.stringify(rollout)}; expected ${JSON.stringify(m.rollout)}`);
    }
    const left = sim.store.keys().filter((k) => k.startsWith(`staging/${GAME}/`) && !abandoned.has(k.split('/')[2]));
    if (left.length > 0) fail(step, `staged objects left behind: ${left.join(', ')}`);
  };

  const controlWithRetry = async (step: number, crash: boolean, request: Parameters<PipelineSimulator['control']>[0]) => {
    if (options.faults && crash) {
      // The operator's call dies at its first write; the CLI (or Lambda) runs it again with the same requestId.
      sim.store.crashAtWrite(1);
      try {
        return await sim.control(request);
      } catch (error) {
        if (!(isLupError(error) && error.code === 'STORE_UNAVAILABLE')) return error;
      } finally {
        sim.store.crashAtWrite(Number.MAX_SAFE_INTEGER);
      }
    }
    try {
      return await sim.control(request);
    } catch (error) {
      if (!isLupError(error)) fail(step, `control threw a non-LupError: ${String(error)}`);
      return error;
    } finally {
      sim.store.crashAtWrite(Number.MAX_SAFE_INTEGER);
    }
  };

  for (const [step, op] of sequence.operations.entries()) {
    if (op.kind === 'publish' || op.kind === 'concurrent') {
      const specs = op.kind === 'publish' ? [op.publish] : [op.a, op.b];
      const expectations: Expected[] = [];
      for (const spec of specs) {
        const upload = `u${++uploads}`;
        let expected = expectation(spec, upload);
        if (spec.flaw === 'omit' && spec.mode === 'zip') {
          // The archive is not sent again: when an earlier upload verified these bytes (and gc kept
          // them), the release completes from its receipt, as a re-publish that skips it does.
          const sha = hashHex('sha256', fixtures.valid[spec.content].zip);
          const verified = sim.store.bytes(keys.archive(GAME, sha)) !== undefined && sim.store.bytes(keys.archiveReceipt(GAME, sha)) !== undefined;
          const alsoSent = specs.some((o) => o !== spec && o.mode === 'zip' && o.content === spec.content && (o.flaw === 'none' || o.flaw === 'lost-event'));
          if (verified) expected = { upload, channel: spec.channel, state: 'live' };
          else if (alsoSent) {
            expected = { ...expected, orLive: true };
            orderDependent.push(upload);
          }
        }
        await stage(spec, upload);
        expectations.push(expected);
      }
      await drain(step, op.delivery);
      sim.store.crashAtWrite(Number.MAX_SAFE_INTEGER);
      sim.cdn.failNext(0);
      for (const e of expectations) {
        if (e.state === 'failed' && (await sim.json<UploadStatus>(keys.status(GAME, e.upload)))?.state === 'pending') {
          pendingFailures.push(e);
          continue;
        }
        await checkUpload(step, e);
      }
      // Flips happen in the order the releases completed: read it from the pointer history.
      const statuses = await Promise.all(expectations.map((e) => sim.json<UploadStatus>(keys.status(GAME, e.upload))));
      for (const channel of CHANNELS) {
        const live = expectations.filter((e, i) => e.channel === channel && statuses[i]?.state === 'live').map((e) => e.upload);
        if (live.length === 0) continue;
        const pointer = await sim.json<ChannelPointer>(keys.pointer(GAME, channel));
        const order = (pointer?.history ?? []).slice(0, live.length).map((h) => h.releaseId).reverse();
        if ([...order].sort().join() !== [...live].sort().join()) fail(step, `${channel} history ${JSON.stringify(pointer?.history.map((h) => h.releaseId))} lacks a flip of ${live.join(', ')}`);
        for (const id of order) flipped(channel, id);
      }
      if (pendingFailures.length > 0) {
        // Nothing else will arrive: past the release timeout the sweeper fails them (I4).
        sim.advance(61 * MINUTE);
        await sim.sweep();
        for (const e of pendingFailures) {
          await checkUpload(step, e);
          const status = await sim.json<UploadStatus>(keys.status(GAME, e.upload));
          if (status?.state === 'live') flipped(e.channel, e.upload);
          else abandoned.add(e.upload);
        }
        pendingFailures = [];
      }
    } else if (op.kind === 'rollback') {
      const m = model[op.channel];
      const previous = m ? rollbackTarget(m) : undefined;
      const result = await controlWithRetry(step, op.crash, { action: 'rollback', game: GAME, channel: op.channel, requestId: `op-${step}` });
      if (!m) {
        if (!(isLupError(result) && result.code === 'CHANNEL_EMPTY')) fail(step, `rollback of an empty channel gave ${JSON.stringify(result)}`);
      } else if (!previous) {
        if (!(isLupError(result) && result.code === 'RELEASE_NOT_FOUND')) fail(step, `rollback with no earlier release gave ${JSON.stringify(result)}`);
      } else {
        if (isLupError(result)) fail(step, `rollback failed: ${result.code} ${result.message}`);
        const target = previous[previous.length - 1];
        model[op.channel] = { sequence: m.sequence + 1, releaseId: target, stack: previous, ...(m.rollout && m.rollout.candidate !== target ? { rollout: m.rollout } : {}) };
      }
    } else if (op.kind === 'promote') {
      const source = model.stable;
      const result = await controlWithRetry(step, op.crash, { action: 'promote', game: GAME, from: 'stable', to: 'beta', requestId: `op-${step}` });
      if (!source) {
        if (!(isLupError(result) && result.code === 'CHANNEL_EMPTY')) fail(step, `promote of an empty channel gave ${JSON.stringify(result)}`);
      } else {
        if (isLupError(result)) fail(step, `promote failed: ${result.code} ${result.message}`);
        flipped('beta', source.releaseId);
      }
    } else if (op.kind === 'rollout') {
      for (const [index, rs] of op.steps.entries()) {
        const m = model[op.channel];
        const other = model[op.channel === 'stable' ? 'beta' : 'stable'];
        const candidate = other?.releaseId ?? 'never-released';
        const request = { action: 'rollout' as const, op: rs.op, game: GAME, channel: op.channel, requestId: `op-${step}-${index}`, ...(rs.op === 'start' ? { release: candidate } : {}), ...(rs.op === 'start' || rs.op === 'set' ? { share: rs.share } : {}) };
        const result = await controlWithRetry(step, rs.crash, request);
        const refused = (code: string): void => {
          if (!(isLupError(result) && result.code === code)) fail(step, `rollout ${rs.op}: expected ${code}, got ${isLupError(result) ? `${result.code}: ${result.message}` : JSON.stringify(result)}`);
        };
        const r = m?.rollout;
        if (!m) refused('CHANNEL_EMPTY');
        else if (rs.op === 'start') {
          if (!other) refused('RELEASE_NOT_FOUND');
          else if (r || candidate === m.releaseId) refused('ROLLOUT_REFUSED');
          else model[op.channel] = { ...m, sequence: m.sequence + 1, rollout: { candidate, share: rs.share, state: 'active' } };
        } else if (!r) refused('ROLLOUT_REFUSED');
        else if (rs.op === 'set') {
          if (r.state === 'active' ? rs.share <= r.share : rs.share < r.share) refused('ROLLOUT_REFUSED');
          else model[op.channel] = { ...m, sequence: m.sequence + 1, rollout: { ...r, share: rs.share, state: 'active' } };
        } else if (rs.op === 'halt') {
          if (r.state === 'halted') refused('ROLLOUT_REFUSED');
          else model[op.channel] = { ...m, sequence: m.sequence + 1, rollout: { ...r, state: 'halted' } };
        } else if (rs.op === 'complete') {
          model[op.channel] = { sequence: m.sequence + 1, releaseId: r.candidate, stack: [...m.stack, r.candidate] };
        } else {
          model[op.channel] = { sequence: m.sequence + 1, releaseId: m.releaseId, stack: m.stack };
        }
        if (model[op.channel] !== m && isLupError(result)) fail(step, `rollout ${rs.op} failed: ${result.code} ${result.message}`);
        await checkAll(step);
      }
    } else {
      // Two gc runs a grace period apart: the first marks, the second deletes what is still
      // unreferenced; the sweeper runs in between, as its schedule would.
      sim.advance(op.advanceDays * DAY);
      for (let run = 0; run < 2; run++) {
        const result = await sim.control({ action: 'gc', game: GAME, apply: true });
        if (result.action !== 'gc') fail(step, 'gc gave no report');
        await sim.sweep();
        await checkAll(step);
        sim.advance(61 * MINUTE);
      }
    }
    await checkAll(step);
  }
  // I3: compare the whole bucket (content, pointers, records, statuses, quarantine) key by key.
  return { state: await sim.endState(), orderDependent };
}

/** Run a sequence with faults and without, and compare the end states (I3). Throws on any violation. */
export async function checkSequence(fixtures: Fixtures, sequence: { seed: number; operations: readonly Operation[] }): Promise<void> {
  const faulty = await runSequence(fixtures, sequence, { faults: true });
  const clean = await runSequence(fixtures, sequence, { faults: false });
  const concurrent = sequence.operations.some((o) => o.kind === 'concurrent');
  // Two publishes in flight together may flip in either order: the pointers' order is then the
  // delivery's choice, and was checked against the history above. An upload that relies on an
  // archive a concurrent upload is still sending may find it or not (its records differ too).
  // Everything else must match.
  const racing = new Set([...faulty.orderDependent, ...clean.orderDependent]);
  const comparable = (state: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(state).filter(([k]) => !(concurrent && (k.startsWith('channels/') || k.includes('/history/') || racing.has(k.split('/')[2]?.replace(/\.json$/, '') ?? '')))));
  const a = comparable(faulty.state);
  const b = comparable(clean.state);
  const keysA = Object.keys(a).sort();
  const keysB = Object.keys(b).sort();
  const onlyA = keysA.filter((k) => !(k in b));
  const onlyB = keysB.filter((k) => !(k in a));
  const differ = keysA.filter((k) => k in b && JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  if (onlyA.length || onlyB.length || differ.length) {
    throw new Error(`I3: the run with faults ended differently from the clean run: only with faults ${JSON.stringify(onlyA)}, only clean ${JSON.stringify(onlyB)}, different ${JSON.stringify(differ.map((k) => [k, a[k], b[k]]))}`);
  }
}

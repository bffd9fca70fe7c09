/**
 * A deterministic simulation of the pipeline on the in-memory store, for the invariant tests and
 * the soak: staged objects produce events; events are delivered in a seeded order, sometimes
 * twice, with Lambda's retries (1 + 2 attempts); writes can be made to crash at any point.
 */
import { MemoryObjectStore } from '../../lib/adapters/memory-store';
import { RecordingInvalidator } from '../../lib/adapters/cdn';
import type { StudioConfig } from '../../lib/core/config';
import { hashHex, algorithmForHexName } from '../../lib/core/format/digest';
import { keys } from '../../lib/core/keys';
import { decodeManifest } from '../../lib/core/format/manifest-codec';
import { isExcluded } from '../../lib/core/format/manifest';
import type { PipelineContext } from '../../lib/core/pipeline/context';
import { runControl, type ControlRequest, type ControlResponse } from '../../lib/core/pipeline/control';
import { sweepIncompleteReleases, type SweepReport } from '../../lib/core/pipeline/sweeper';
import { onArchiveArrived, onManifestArrived, onReleaseRequested, onResourceArrived } from '../../lib/core/pipeline/steps';
import { RELEASE_REQUEST_SCHEMA_VERSION, type ReleaseRequest } from '../../lib/core/documents/release-request';
import type { ReleaseRecord } from '../../lib/core/documents/release-record';
import { releaseContentKeys } from '../../lib/core/pipeline/gc';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import { RESOURCE_HEADER_BYTES } from '../../lib/core/format/resource-header';
import { routeFor, type PipelineStep } from '../../lib/routes';
import { Prng, type FactoryContent } from '../../lib/factory/content-factory';

const STEPS: Record<PipelineStep, (context: PipelineContext, key: string) => Promise<void>> = {
  resource: onResourceArrived,
  archive: onArchiveArrived,
  manifest: onManifestArrived,
  release: onReleaseRequested,
};

/** How events are delivered. */
export interface DeliveryPlan {
  readonly seed: number;
  /** Probability that an event is delivered twice. */
  readonly duplicateRate?: number;
  /** Shuffle the pending events before each delivery round (else arrival order). */
  readonly shuffle?: boolean;
}

export class PipelineSimulator {
  readonly store: MemoryObjectStore;
  readonly cdn = new RecordingInvalidator();
  readonly context: PipelineContext;
  private readonly pending: string[] = [];
  private readonly random: Prng;
  private delivery: { shuffle?: boolean; duplicateRate?: number };
  /** Events that failed all three attempts (should stay empty unless a test injects that much). */
  readonly deadLetters: { key: string; error: unknown }[] = [];
  private time = Date.parse('2026-11-27T12:00:00Z');
  /**
   * The context each function runs with, when a test gives them their own (e.g. a store that
   * refuses what the function's IAM grants do not allow); else every function shares {@link context}.
   */
  functionContext?: (fn: 'resource' | 'archive' | 'manifest' | 'release' | 'sweeper' | 'control') => PipelineContext;

  constructor(plan: DeliveryPlan, config?: StudioConfig) {
    this.store = new MemoryObjectStore(() => new Date(this.time));
    this.random = new Prng(plan.seed);
    this.delivery = { shuffle: plan.shuffle, duplicateRate: plan.duplicateRate };
    this.context = { store: this.store, cdn: this.cdn, clock: { now: () => new Date(this.time) }, config, cdnBaseUrl: 'https://cdn.test/' };
  }

  /** Let simulated time pass (release timeouts, retention). */
  advance(ms: number): void {
    this.time += ms;
  }

  /** A publisher's PUT: the object is stored and its event queued (nothing runs yet). */
  async stage(key: string, body: Uint8Array | string): Promise<void> {
    await this.store.put(key, body);
    if (routeFor(key)) this.pending.push(key);
  }

  /** An object the pipeline wrote that has an S3 notification (a release attempt): queue its event. */
  notify(key: string): void {
    if (routeFor(key)) this.pending.push(key);
  }

  /** Change how the next events are delivered (shuffle, duplicates) from now on. */
  setDelivery(delivery: { shuffle?: boolean; duplicateRate?: number }): void {
    this.delivery = { ...delivery };
  }

  /** Events staged and not yet delivered. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Run an operator action (promote, rollback, gc) on the simulated bucket. */
  control(request: ControlRequest): Promise<ControlResponse> {
    return runControl(this.functionContext?.('control') ?? this.context, request);
  }

  /** Run the sweeper once (fails releases older than the timeout). */
  sweep(): Promise<SweepReport> {
    return sweepIncompleteReleases(this.functionContext?.('sweeper') ?? this.context);
  }

  /**
   * Stage a whole upload of factory content, as `lup publish` would (release request last).
   * `replace` swaps the bytes of one staged file (a corrupted or truncated upload), `omit`
   * leaves files out (a publisher that died) and `loseEvent` stores a file without its event (a
   * step that never ran); the release request still names everything.
   */
  async stageUpload(request: {
    game: string; upload: string; channel: string; content: FactoryContent; zip?: Uint8Array;
    replace?: (name: string, bytes: Uint8Array) => Uint8Array; omit?: (name: string) => boolean; loseEvent?: (name: string) => boolean;
  }): Promise<void> {
    const { game, upload, channel, content, zip } = request;
    const put = async (name: string, bytes: Uint8Array): Promise<void> => {
      if (request.omit?.(name)) return;
      const body = request.replace ? request.replace(name, bytes) : bytes;
      // A lost event: the object is stored but its step never runs (a notification never sent).
      if (request.loseEvent?.(name)) await this.store.put(keys.staged(game, upload, name), body);
      else await this.stage(keys.staged(game, upload, name), body);
    };
    if (zip) {
      await put('game.zip', zip);
    } else {
      await put('liveupdate.game.dmanifest', content.manifestBytes);
      for (const r of content.resources) await put(r.name, r.bytes);
    }
    const releaseRequest: ReleaseRequest = {
      schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game, upload, channel,
      kind: zip ? 'archives' : 'loose',
      archives: zip ? [{ name: 'game.zip', sha256: hashHex('sha256', zip), sizeBytes: zip.length, priority: 10 }] : [],
      ...(zip ? {} : { manifestSha256: hashHex('sha256', content.manifestBytes) }),
      requestedAt: new Date(this.time).toISOString(),
    };
    await this.stage(keys.releaseRequest(game, upload), JSON.stringify(releaseRequest));
  }

  /** Deliver one event with Lambda's semantics; returns false when nothing is pending. */
  async deliverOne(afterEach?: () => Promise<void>): Promise<boolean> {
    if (this.pending.length === 0) return false;
    const index = this.delivery.shuffle ? this.random.int(0, this.pending.length - 1) : 0;
    const [key] = this.pending.splice(index, 1);
    if (this.delivery.duplicateRate && this.random.chance(this.delivery.duplicateRate)) this.pending.push(key);
    const step = STEPS[routeFor(key) as PipelineStep];
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await step(this.functionContext?.(routeFor(key) as PipelineStep) ?? this.context, key);
        lastError = undefined;
        break;
      } catch (error) {
        lastError = error;
      } finally {
        if (afterEach) await afterEach();
      }
    }
    if (lastError !== undefined) this.deadLetters.push({ key, error: lastError });
    return true;
  }

  /** Deliver until no event is pending. */
  async drain(afterEach?: () => Promise<void>): Promise<void> {
    while (await this.deliverOne(afterEach));
  }

  async json<T>(key: string): Promise<T | undefined> {
    const bytes = this.store.bytes(key);
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as T) : undefined;
  }

  /** What a test compares between runs: served and recorded objects, without times. */
  async endState(): Promise<Record<string, unknown>> {
    const state: Record<string, unknown> = {};
    for (const key of this.store.keys()) {
      if (key.startsWith('content/')) state[key] = hashHex('sha256', this.store.bytes(key)!);
      else if (key.startsWith('channels/') && key.endsWith('.json')) {
        const p = (await this.json<ChannelPointer>(key))!;
        state[key] = { sequence: p.sequence, releaseId: p.releaseId, archives: p.archives.map((a) => a.sha256), manifest: p.manifest.sha256 };
      } else if (key.startsWith('status/')) state[key] = (await this.json<{ state: string }>(key))!.state;
      else if (key.startsWith('staging/') || key.startsWith('releases/') || key.startsWith('quarantine/')) state[key] = true;
    }
    return state;
  }

  /**
   * Check invariant I1 (verified-only, every referenced object present) and the completeness part
   * of I2 (the pointer names a complete release). Returns the violations, empty when all hold.
   */
  async violations(): Promise<string[]> {
    const found: string[] = [];
    for (const key of this.store.keys()) {
      const body = this.store.bytes(key)!;
      const resource = /^content\/[^/]+\/resources\/([0-9a-f]+)$/.exec(key);
      const sha = /^content\/[^/]+\/(?:archives|manifests)\/([0-9a-f]{64})\.(?:zip|dmanifest)$/.exec(key);
      if (resource) {
        const algorithm = algorithmForHexName(resource[1]);
        if (!algorithm || hashHex(algorithm, body.subarray(RESOURCE_HEADER_BYTES)) !== resource[1]) found.push(`I1: ${key} does not match its name`);
      } else if (sha) {
        if (hashHex('sha256', body) !== sha[1]) found.push(`I1: ${key} does not match its SHA-256`);
      } else if (key.startsWith('content/')) found.push(`I1: ${key} is not a content-addressed key`);
    }
    // Security model: nothing is under content/ unless a release record names it (verified content
    // waits in the private area until a release serves it).
    const released = new Set<string>();
    for (const key of this.store.keys().filter((k) => /^releases\/[^/]+\/[^/]+\.json$/.test(k))) {
      for (const k of releaseContentKeys((await this.json<ReleaseRecord>(key))!)) released.add(k);
    }
    for (const key of this.store.keys().filter((k) => k.startsWith('content/') && !released.has(k))) found.push(`private: ${key} is served but no release names it`);
    for (const key of this.store.keys().filter((k) => k.startsWith('channels/') && k.endsWith('.json'))) {
      const pointer = (await this.json<ChannelPointer>(key))!;
      const release = await this.json<ReleaseRecord>(keys.release(pointer.game, pointer.releaseId));
      if (!release) found.push(`I2: ${key} names release ${pointer.releaseId}, which has no record`);
      const referenced = [pointer.manifest.path, ...pointer.archives.map((a) => a.path)];
      if (pointer.rollout) referenced.push(pointer.rollout.manifest.path, ...pointer.rollout.archives.map((a) => a.path));
      const manifestBytes = this.store.bytes(pointer.manifest.path);
      if (manifestBytes && pointer.archives.length === 0) {
        for (const e of decodeManifest(manifestBytes).resources) if (isExcluded(e)) referenced.push(`${pointer.resourcesBase.path}${e.hash}`);
      }
      for (const path of referenced) if (!this.store.bytes(path)) found.push(`I1: ${key} references missing ${path}`);
      const sequences = pointer.history.map((h) => h.sequence);
      if (sequences.some((s, i) => i > 0 && s >= sequences[i - 1])) found.push(`I2: ${key} history is not strictly decreasing: ${sequences.join(',')}`);
    }
    return found;
  }
}

/**
 * The local stack's stand-in for S3 event notifications + Lambda: object-created events are
 * matched against the one route table (`lib/routes.ts`, which the CDK stack also turns into
 * notifications) and delivered to the handler of their step with Lambda's asynchronous
 * invocation semantics:
 *
 * - at least once: a handler that throws is invoked again, up to `maxAttempts` in all (Lambda:
 *   the first try plus two retries), after `retryDelayMs`;
 * - after the last failure the event becomes a dead letter (key, step, error), kept in
 *   {@link EventRouter.deadLetters} and passed to `onDeadLetter`; it is never dropped silently;
 * - deliveries run concurrently, bounded by `concurrency`, in no guaranteed order.
 *
 * Handlers must therefore be idempotent and order-free (invariants I3, I4). The fault hooks let
 * tests make that hard: duplicate an event, delay or reorder events, and crash before or after a
 * handler ran (a crash after it ran is the nasty case: its effects happened, yet it is retried).
 * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
 */
import pLimit from 'p-limit';
import { isLupError } from '../core/errors';
import { systemClock, type Clock } from '../core/ports';
import { routeFor, type PipelineStep } from '../routes';
import type { S3EventLike } from './s3-server';

/** What a step's handler is given: the object key, decoded. */
export type StepHandler = (key: string) => Promise<void>;

/** The handlers of the pipeline steps; a step without one is counted in `stats.unhandled` and skipped. */
export type StepHandlers = Partial<Record<PipelineStep, StepHandler>>;

/** One invocation of a handler, as the fault hooks see it. */
export interface DeliveryInfo {
  readonly key: string;
  readonly step: PipelineStep;
  /** 1 for the first invocation, 2 and 3 for Lambda's retries. */
  readonly attempt: number;
  /** Identifies the event; a duplicate gets its own id. */
  readonly eventId: number;
}

/** Fault injection for tests. */
export interface EventRouterFaults {
  /**
   * Return true to deliver this event twice (as S3 sometimes does).
   * @default - never
   */
  readonly duplicate?: (key: string) => boolean;
  /**
   * Milliseconds to wait before the first delivery of this event, to reorder by timing.
   * @default - no delay
   */
  readonly delayMs?: (key: string) => number;
  /**
   * Called before (`phase: 'before'`) and after (`'after'`) each handler invocation. Throw to
   * simulate a crash there: the invocation counts as failed and is retried. A throw in `'after'`
   * simulates a Lambda that did its work but died before reporting success.
   * @default - no crash
   */
  readonly crash?: (delivery: DeliveryInfo & { readonly phase: 'before' | 'after' }) => void | Promise<void>;
}

/** Options of {@link EventRouter}. */
export interface EventRouterOptions {
  /** The handler of each step. */
  readonly handlers: StepHandlers;
  /**
   * Invocations in all before an event becomes a dead letter (Lambda async: 1 + 2 retries).
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Wait before a retry, in milliseconds (Lambda waits about a minute, then two; locally a
   * short wait keeps tests fast while still letting other events run in between).
   * @default 25
   */
  readonly retryDelayMs?: number;
  /**
   * Handler invocations running at once, like Lambda's concurrency. Each one may hold S3
   * sockets and memory of the handler; raise it only with the S3 client's `maxSockets`.
   * @default 16
   */
  readonly concurrency?: number;
  /** Fault injection for tests. @default - none */
  readonly faults?: EventRouterFaults;
  /**
   * Called once per dead letter, e.g. to print it.
   * @default - dead letters are only kept in `deadLetters`
   */
  readonly onDeadLetter?: (deadLetter: DeadLetter) => void;
  /**
   * Random source for {@link EventRouter.release}'s shuffle; inject a seeded one to replay an order.
   * @default Math.random
   */
  readonly random?: () => number;
  /** Clock stamping dead letters. @default - the system clock */
  readonly clock?: Clock;
}

/** An event whose handler failed on every attempt, or that arrived after the router stopped. */
export interface DeadLetter {
  readonly key: string;
  readonly step: PipelineStep;
  readonly eventId: number;
  /** Invocations made (0 when the router stopped before delivering it). */
  readonly attempts: number;
  /** The last error thrown. */
  readonly error: unknown;
  /** `CODE: message` of the last error, for printing. */
  readonly message: string;
  readonly at: Date;
}

/** Counters of what the router did. */
export interface EventRouterStats {
  /** Object-created events received (before duplication). */
  received: number;
  /** Events whose key matches no route (ignored, as S3 would send no notification). */
  ignored: number;
  /** Events routed to a step that has no handler. */
  unhandled: number;
  /** Extra copies made by the `duplicate` fault. */
  duplicated: number;
  /** Handler invocations started, retries included. */
  deliveries: number;
  /** Invocations that completed without throwing. */
  succeeded: number;
  /** Invocations that threw (handler or crash hook). */
  failedAttempts: number;
  /** Events given up on. */
  deadLettered: number;
}

/** Order in which {@link EventRouter.release} lets held events go. */
export type ReleaseOrder = 'shuffle' | 'reverse' | 'arrival';

interface Pending {
  readonly key: string;
  readonly step: PipelineStep;
  readonly eventId: number;
}

/** Delivers object-created events to the pipeline's handlers with Lambda's async semantics. */
export class EventRouter {
  /** Dead letters so far, oldest first. */
  readonly deadLetters: DeadLetter[] = [];
  /** Counters; read them after {@link idle}. */
  readonly stats: EventRouterStats = {
    received: 0, ignored: 0, unhandled: 0, duplicated: 0, deliveries: 0, succeeded: 0, failedAttempts: 0, deadLettered: 0,
  };

  private readonly handlers: StepHandlers;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly faults: EventRouterFaults;
  private readonly onDeadLetter?: (deadLetter: DeadLetter) => void;
  private readonly random: () => number;
  private readonly clock: Clock;
  private held: Pending[] | undefined;
  private outstanding = 0;
  private idleWaiters: (() => void)[] = [];
  private nextEventId = 1;
  private stopped = false;

  constructor(options: EventRouterOptions) {
    const maxAttempts = options.maxAttempts ?? 3;
    const retryDelayMs = options.retryDelayMs ?? 25;
    const concurrency = options.concurrency ?? 16;
    const problems: string[] = [];
    if (!options.handlers || typeof options.handlers !== 'object') problems.push('handlers must map pipeline steps to functions');
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) problems.push(`maxAttempts must be a whole number of at least 1, got ${maxAttempts}`);
    if (!(retryDelayMs >= 0)) problems.push(`retryDelayMs must be >= 0, got ${retryDelayMs}`);
    if (!Number.isInteger(concurrency) || concurrency < 1) problems.push(`concurrency must be a whole number of at least 1, got ${concurrency}`);
    if (problems.length > 0) throw new RangeError(`EventRouter: ${problems.join('; ')}`);
    this.handlers = options.handlers;
    this.maxAttempts = maxAttempts;
    this.retryDelayMs = retryDelayMs;
    this.limit = pLimit(concurrency);
    this.faults = options.faults ?? {};
    this.onDeadLetter = options.onDeadLetter;
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
  }

  /** Accept one object-created event for `key` (decoded). Keys matching no route are ignored. */
  notify(key: string): void {
    this.stats.received += 1;
    const step = routeFor(key);
    if (!step) {
      this.stats.ignored += 1;
      return;
    }
    if (!this.handlers[step]) {
      this.stats.unhandled += 1;
      return;
    }
    const copies = this.faults.duplicate?.(key) ? 2 : 1;
    this.stats.duplicated += copies - 1;
    for (let i = 0; i < copies; i++) {
      const event: Pending = { key, step, eventId: this.nextEventId++ };
      if (this.stopped) this.deadLetter(event, 0, new Error('the event router was stopped before this event could be delivered'));
      else if (this.held) this.held.push(event);
      else this.schedule(event, 1, Math.max(0, this.faults.delayMs?.(key) ?? 0));
    }
  }

  /**
   * Accept S3-style event records, as s3rver emits them: `ObjectCreated:*` records are routed,
   * others ignored. s3rver puts the key in the record as stored (real S3 URL-encodes it; the
   * Lambda handlers decode theirs before calling the same code).
   */
  handleS3Event(event: S3EventLike): void {
    for (const record of event.Records ?? []) {
      if (record.eventName.startsWith('ObjectCreated:')) this.notify(record.s3.object.key);
    }
  }

  /** Hold every event from now on until {@link release}; lets a test collect events and reorder them. */
  hold(): void {
    this.held ??= [];
  }

  /** Deliver the held events in `order` and stop holding. */
  release(order: ReleaseOrder = 'shuffle'): void {
    const events = this.held ?? [];
    this.held = undefined;
    if (order === 'reverse') events.reverse();
    if (order === 'shuffle') {
      for (let i = events.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [events[i], events[j]] = [events[j], events[i]];
      }
    }
    for (const event of events) this.schedule(event, 1, Math.max(0, this.faults.delayMs?.(event.key) ?? 0));
  }

  /** Events held by {@link hold}, not yet released. */
  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  /**
   * Resolves when no delivery is waiting, retrying or running. Held events do not count: call
   * {@link release} first.
   */
  idle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop accepting events, let deliveries in flight (and their retries) finish, and turn held or
   * later events into dead letters.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const event of this.held ?? []) {
      this.deadLetter(event, 0, new Error('the event router was stopped while this event was held'));
    }
    this.held = undefined;
    await this.idle();
  }

  private schedule(event: Pending, attempt: number, delayMs: number): void {
    this.outstanding += 1;
    setTimeout(() => {
      void this.limit(() => this.invoke(event, attempt)).finally(() => this.settle());
    }, delayMs);
  }

  private settle(): void {
    this.outstanding -= 1;
    if (this.outstanding === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((resolve) => resolve());
    }
  }

  private async invoke(event: Pending, attempt: number): Promise<void> {
    const handler = this.handlers[event.step];
    const info: DeliveryInfo = { key: event.key, step: event.step, attempt, eventId: event.eventId };
    this.stats.deliveries += 1;
    try {
      await this.faults.crash?.({ ...info, phase: 'before' });
      if (!handler) throw new Error(`no handler for step "${event.step}"`);
      await handler(event.key);
      await this.faults.crash?.({ ...info, phase: 'after' });
      this.stats.succeeded += 1;
    } catch (error) {
      this.stats.failedAttempts += 1;
      // A retry is a decision: Lambda retries every failed async invocation, whatever the error.
      if (attempt < this.maxAttempts) this.schedule(event, attempt + 1, this.retryDelayMs);
      else this.deadLetter(event, attempt, error);
    }
  }

  private deadLetter(event: Pending, attempts: number, error: unknown): void {
    const message = isLupError(error)
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error);
    const letter: DeadLetter = { key: event.key, step: event.step, eventId: event.eventId, attempts, error, message, at: this.clock.now() };
    this.deadLetters.push(letter);
    this.stats.deadLettered += 1;
    this.onDeadLetter?.(letter);
  }
}

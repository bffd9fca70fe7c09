import { lupError } from '../../lib/core/errors';
import { EventRouter, type EventRouterOptions, type StepHandler } from '../../lib/local/event-router';

const RESOURCE = 'staging/g1/u1/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';
const ARCHIVE = 'staging/g1/u1/levels.zip';
const MANIFEST = 'staging/g1/u1/liveupdate.game.dmanifest';
const RELEASE = 'staging/g1/u1/release-request.json';

function router(handlers: EventRouterOptions['handlers'], options: Omit<EventRouterOptions, 'handlers'> = {}): EventRouter {
  return new EventRouter({ retryDelayMs: 1, ...options, handlers });
}

/** A handler recording the keys it was called with, failing while `failures` is positive. */
function recorder(failures = 0): StepHandler & { calls: string[] } {
  let left = failures;
  const calls: string[] = [];
  const handler = async (key: string) => {
    calls.push(key);
    if (left > 0) {
      left -= 1;
      throw lupError({ code: 'STORE_UNAVAILABLE', message: `injected failure for ${key}` });
    }
  };
  return Object.assign(handler, { calls });
}

describe(EventRouter, () => {
  test('routes each key to the handler of its step through the route table', async () => {
    const handlers = { resource: recorder(), archive: recorder(), manifest: recorder(), release: recorder() };
    const r = router(handlers);
    [RESOURCE, ARCHIVE, MANIFEST, RELEASE].forEach((k) => r.notify(k));
    await r.idle();
    expect(handlers.resource.calls).toEqual([RESOURCE]);
    expect(handlers.archive.calls).toEqual([ARCHIVE]);
    expect(handlers.manifest.calls).toEqual([MANIFEST]);
    expect(handlers.release.calls).toEqual([RELEASE]);
    expect(r.stats).toMatchObject({ received: 4, deliveries: 4, succeeded: 4, deadLettered: 0 });
  });

  test('ignores keys no route matches and counts steps without a handler', async () => {
    const resource = recorder();
    const r = router({ resource });
    r.notify('content/g1/resources/abc');
    r.notify('staging/g1/u1/readme.txt');
    r.notify(ARCHIVE);
    await r.idle();
    expect(resource.calls).toEqual([]);
    expect(r.stats).toMatchObject({ received: 3, ignored: 2, unhandled: 1, deliveries: 0 });
  });

  test('takes object-created records of an S3 event and skips removals', async () => {
    const resource = recorder();
    const r = router({ resource });
    r.handleS3Event({
      Records: [
        { eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: RESOURCE } } },
        { eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'b' }, object: { key: RESOURCE } } },
      ],
    });
    await r.idle();
    expect(resource.calls).toEqual([RESOURCE]);
  });

  test('retries a failing handler twice, then records a dead letter with the last error', async () => {
    const resource = recorder(Infinity);
    const onDeadLetter = jest.fn();
    const r = router({ resource }, { onDeadLetter });
    r.notify(RESOURCE);
    await r.idle();
    expect(resource.calls).toEqual([RESOURCE, RESOURCE, RESOURCE]);
    expect(r.deadLetters).toHaveLength(1);
    expect(r.deadLetters[0]).toMatchObject({
      key: RESOURCE,
      step: 'resource',
      attempts: 3,
      error: { code: 'STORE_UNAVAILABLE' },
      message: `STORE_UNAVAILABLE: injected failure for ${RESOURCE}`,
    });
    expect(onDeadLetter).toHaveBeenCalledWith(r.deadLetters[0]);
    expect(r.stats).toMatchObject({ deliveries: 3, failedAttempts: 3, succeeded: 0, deadLettered: 1 });
  });

  test('a handler that fails twice succeeds on the third attempt without a dead letter', async () => {
    const resource = recorder(2);
    const r = router({ resource });
    r.notify(RESOURCE);
    await r.idle();
    expect(resource.calls).toHaveLength(3);
    expect(r.deadLetters).toEqual([]);
    expect(r.stats).toMatchObject({ deliveries: 3, failedAttempts: 2, succeeded: 1 });
  });

  test('honours maxAttempts', async () => {
    const resource = recorder(Infinity);
    const r = router({ resource }, { maxAttempts: 1 });
    r.notify(RESOURCE);
    await r.idle();
    expect(resource.calls).toHaveLength(1);
    expect(r.deadLetters).toHaveLength(1);
  });

  test('the duplicate fault delivers an event twice, as two events', async () => {
    const resource = recorder();
    const r = router({ resource }, { faults: { duplicate: (key) => key === RESOURCE } });
    r.notify(RESOURCE);
    await r.idle();
    expect(resource.calls).toEqual([RESOURCE, RESOURCE]);
    expect(r.stats).toMatchObject({ received: 1, duplicated: 1, deliveries: 2, succeeded: 2 });
  });

  test('a crash before the handler makes Lambda retry it; the handler then runs once', async () => {
    const resource = recorder();
    const crash = jest.fn(({ attempt, phase }: { attempt: number; phase: string }) => {
      if (attempt === 1 && phase === 'before') throw new Error('simulated crash');
    });
    const r = router({ resource }, { faults: { crash } });
    r.notify(RESOURCE);
    await r.idle();
    expect(resource.calls).toEqual([RESOURCE]);
    expect(r.stats).toMatchObject({ deliveries: 2, failedAttempts: 1, succeeded: 1 });
    expect(crash.mock.calls.map(([d]) => `${d.attempt}:${d.phase}`)).toEqual(['1:before', '2:before', '2:after']);
  });

  test('a crash after the handler ran retries it although its work is done', async () => {
    const resource = recorder();
    const r = router(
      { resource },
      { faults: { crash: ({ attempt, phase }) => { if (attempt < 3 && phase === 'after') throw new Error('died before reporting'); } } },
    );
    r.notify(RESOURCE);
    await r.idle();
    expect(resource.calls).toEqual([RESOURCE, RESOURCE, RESOURCE]);
    expect(r.deadLetters).toEqual([]);
  });

  test('hold and release deliver the held events in the order asked for', async () => {
    const order: string[] = [];
    const resource: StepHandler = async (key) => {
      order.push(key.slice(-1));
    };
    const keys = '0123456789abcdef'.split('').map((d) => `staging/g1/u1/${'0'.repeat(39)}${d}`);
    const r = router({ resource }, { concurrency: 1 });
    r.hold();
    keys.forEach((k) => r.notify(k));
    expect(r.heldCount).toBe(16);
    await r.idle();
    expect(order).toEqual([]);
    r.release('reverse');
    await r.idle();
    expect(order.join('')).toBe('fedcba9876543210');

    order.length = 0;
    let seed = 7;
    const r2 = router({ resource }, { concurrency: 1, random: () => ((seed = (seed * 48271) % 2147483647) / 2147483647) });
    r2.hold();
    keys.forEach((k) => r2.notify(k));
    r2.release('shuffle');
    await r2.idle();
    expect(order.slice().sort().join('')).toBe('0123456789abcdef');
    expect(order.join('')).not.toBe('0123456789abcdef');
  });

  test('delayMs reorders events by timing', async () => {
    const order: string[] = [];
    const r = router({ archive: async (k) => void order.push(k), manifest: async (k) => void order.push(k) }, {
      faults: { delayMs: (key) => (key === ARCHIVE ? 30 : 0) },
    });
    r.notify(ARCHIVE);
    r.notify(MANIFEST);
    await r.idle();
    expect(order).toEqual([MANIFEST, ARCHIVE]);
  });

  test('runs deliveries concurrently up to the bound, never beyond', async () => {
    let running = 0;
    let peak = 0;
    const resource: StepHandler = async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running -= 1;
    };
    const r = router({ resource }, { concurrency: 4 });
    for (let i = 0; i < 20; i++) r.notify(`staging/g1/u1/${String(i).padStart(40, '0')}`);
    await r.idle();
    expect(peak).toBe(4);
    expect(r.stats.succeeded).toBe(20);
  });

  test('idle() waits for retries still pending, and resolves at once when nothing is pending', async () => {
    await expect(router({}).idle()).resolves.toBeUndefined();
    const resource = recorder(2);
    const r = router({ resource }, { retryDelayMs: 20 });
    r.notify(RESOURCE);
    await r.idle();
    expect(resource.calls).toHaveLength(3);
  });

  test('stop() turns held and later events into dead letters instead of losing them', async () => {
    const resource = recorder();
    const r = router({ resource });
    r.hold();
    r.notify(RESOURCE);
    await r.stop();
    r.notify(RESOURCE);
    expect(resource.calls).toEqual([]);
    expect(r.deadLetters.map((d) => [d.key, d.attempts])).toEqual([
      [RESOURCE, 0],
      [RESOURCE, 0],
    ]);
  });

  test('refuses impossible options, naming each', () => {
    expect(() => new EventRouter({ handlers: {}, maxAttempts: 0, concurrency: 0 })).toThrow(/maxAttempts.*concurrency/);
  });
});

/**
 * Reading and writing the pipeline's small JSON documents through the store, with the
 * compare-and-swap loop they share.
 */
import { isLupError, lupError } from '../errors';
import type { ObjectStore, PutOptions } from '../ports';
import { encodeDocument } from '../release-record';

/** A JSON document and the ETag it was read with. */
export interface Versioned<T> {
  readonly value: T;
  readonly etag: string;
}

/** Read a JSON document; `undefined` when absent. */
export async function readJson<T>(store: ObjectStore, key: string): Promise<Versioned<T> | undefined> {
  const object = await store.get(key);
  if (!object) return undefined;
  try {
    return { value: JSON.parse(Buffer.from(object.body).toString('utf8')) as T, etag: object.etag };
  } catch (cause) {
    throw lupError({ code: 'INTERNAL', location: { key }, expected: 'JSON', actual: 'unparseable bytes', message: `The pipeline document ${key} is damaged.` }, cause);
  }
}

const JSON_TYPE = 'application/json';

/** Write a document only if none exists; `false` when one already did (a retried step). */
export async function createJson(store: ObjectStore, key: string, value: unknown, options: Omit<PutOptions, 'ifMatch' | 'ifNoneMatch'> = {}): Promise<boolean> {
  try {
    await store.put(key, encodeDocument(value), { contentType: JSON_TYPE, ...options, ifNoneMatch: '*' });
    return true;
  } catch (error) {
    if (isLupError(error) && error.code === 'STORE_PRECONDITION_FAILED') return false;
    throw error;
  }
}

/** Attempts of a compare-and-swap before giving up loudly. */
export const CAS_ATTEMPTS = 12;

/**
 * Read-modify-write with compare-and-swap. `change` gets the current value (or undefined) and
 * returns the next one, or `undefined` to leave the document as it is. On a lost race the loop
 * starts again from fresh state; after {@link CAS_ATTEMPTS} it fails with `CHANNEL_CONFLICT`.
 */
export async function updateJson<T>(
  store: ObjectStore,
  key: string,
  change: (current: T | undefined) => T | undefined,
  options: Omit<PutOptions, 'ifMatch' | 'ifNoneMatch'> = {},
): Promise<{ value: T | undefined; changed: boolean }> {
  for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
    const current = await readJson<T>(store, key);
    const next = change(current?.value);
    if (next === undefined) return { value: current?.value, changed: false };
    try {
      await store.put(key, encodeDocument(next), {
        contentType: JSON_TYPE,
        ...options,
        ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
      });
      return { value: next, changed: true };
    } catch (error) {
      if (!(isLupError(error) && error.code === 'STORE_PRECONDITION_FAILED')) throw error;
      // Lost the race: back off a little (jittered, growing) and start again from fresh state.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
  throw lupError({
    code: 'CHANNEL_CONFLICT', location: { key },
    expected: `a successful compare-and-swap within ${CAS_ATTEMPTS} attempts`, actual: `${CAS_ATTEMPTS} lost races`,
    message: `${key} kept changing under concurrent writers; the operation was not applied. Retry it.`,
  });
}

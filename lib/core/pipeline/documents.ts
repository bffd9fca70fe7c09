/**
 * Reading and writing the pipeline's small JSON documents through the store, with the
 * compare-and-swap loop they share. Documents with a codec (pointer, release record, status) are
 * checked against their schema on every read and write; bookkeeping documents (receipts, pins,
 * flip records) are plain JSON the pipeline alone writes.
 */
import { isLupError, lupError } from '../errors';
import type { ObjectStore, PutOptions } from '../ports';
import type { DocumentCodec } from '../documents/codec';
import { encodeDocument } from '../documents/release-record';

/** A JSON document and the ETag it was read with. */
export interface Versioned<T> {
  readonly value: T;
  readonly etag: string;
}

type WriteOptions = Omit<PutOptions, 'ifMatch' | 'ifNoneMatch'>;

/** The largest bookkeeping document read without a codec of its own (unless a caller says more). */
export const MAX_BOOKKEEPING_BYTES = 4 * 1024 * 1024;
/** Bookkeeping documents larger than this are written without indentation. */
const PRETTY_LIMIT_BYTES = 64 * 1024;

function decode<T>(key: string, body: Uint8Array, codec?: DocumentCodec<T>, maxBytes = MAX_BOOKKEEPING_BYTES): T {
  if (codec) return codec.parse(body, { key });
  if (body.length > maxBytes) {
    throw lupError({ code: 'INTERNAL', location: { key }, expected: `at most ${maxBytes} bytes`, actual: `${body.length} bytes`, message: `The pipeline document ${key} is larger than any the pipeline writes.` });
  }
  try {
    return JSON.parse(Buffer.from(body).toString('utf8')) as T;
  } catch (cause) {
    throw lupError({ code: 'INTERNAL', location: { key }, expected: 'JSON', actual: 'unparseable bytes', message: `The pipeline document ${key} is damaged.` }, cause);
  }
}

function encode<T>(value: T, codec?: DocumentCodec<T>): string {
  if (codec) return codec.encode(value);
  const pretty = encodeDocument(value);
  // Big bookkeeping (receipts of 200,000 digests, gc marks) is a third smaller without indentation.
  return pretty.length > PRETTY_LIMIT_BYTES ? `${JSON.stringify(value)}\n` : pretty;
}

/** Read a JSON document; `undefined` when absent. `maxBytes` raises the bookkeeping bound for a kind that needs it. */
export async function readJson<T>(store: ObjectStore, key: string, codec?: DocumentCodec<T>, maxBytes?: number): Promise<Versioned<T> | undefined> {
  const object = await store.get(key);
  if (!object) return undefined;
  return { value: decode(key, object.body, codec, maxBytes), etag: object.etag };
}

/** The size `value` takes when written as a bookkeeping document. */
export function encodedBytes(value: unknown): number {
  return Buffer.byteLength(encode(value));
}

const JSON_TYPE = 'application/json';

/** Write a document only if none exists; `false` when one already did (a retried step). */
export async function createJson<T>(store: ObjectStore, key: string, value: T, options: WriteOptions = {}, codec?: DocumentCodec<T>): Promise<boolean> {
  try {
    await store.put(key, encode(value, codec), { contentType: JSON_TYPE, ...options, ifNoneMatch: '*' });
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
  options: WriteOptions = {},
  codec?: DocumentCodec<T>,
): Promise<{ value: T | undefined; changed: boolean; etag?: string }> {
  for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
    const current = await readJson<T>(store, key, codec);
    const next = change(current?.value);
    if (next === undefined) return { value: current?.value, changed: false, etag: current?.etag };
    try {
      const { etag } = await store.put(key, encode(next, codec), {
        contentType: JSON_TYPE,
        ...options,
        ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
      });
      return { value: next, changed: true, etag };
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

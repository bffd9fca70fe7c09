/**
 * One codec per kind of JSON document the pipeline writes or reads (pointer, release record, release
 * request, upload status): a JSON Schema is the single definition of each document's shape, read by
 * every writer and reader here, by `lup verify` and by the Lua client kit's tests.
 *
 * Reads are bounded (a document larger than its kind allows is refused unread) and report every
 * problem with the field that has it; writes are checked against the same schema, so a writer that
 * drifts from the definition fails in the tests instead of in a game.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { lupError, type ErrorCode, type ErrorLocation, type LupError } from '../errors';

/** What a codec is built from. */
export interface DocumentKind {
  /** How messages name the document, e.g. `channel pointer`. */
  readonly what: string;
  /** The JSON Schema (draft-07) of the document. */
  readonly schema: Record<string, unknown>;
  /** Error code of a document that does not match. */
  readonly code: ErrorCode;
  /** Largest encoded size accepted, in bytes. */
  readonly maxBytes: number;
  /** What the reader should do about a bad document, appended to each message. */
  readonly hint?: string;
  /** Checks a schema cannot express (fields that must agree with each other). */
  readonly crossCheck?: (value: never, location: ErrorLocation) => LupError[];
}

/** The outcome of decoding: the document, or every problem found. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly LupError[] };

/** Reads and writes one kind of document. */
export interface DocumentCodec<T> {
  readonly what: string;
  readonly maxBytes: number;
  /** Decode bytes (or text), reporting every problem. */
  decode(body: Uint8Array | string, location: ErrorLocation): Decoded<T>;
  /** Decode, or throw the first problem (with how many there were). */
  parse(body: Uint8Array | string, location: ErrorLocation): T;
  /** Check an already parsed value. */
  check(value: unknown, location: ErrorLocation): LupError[];
  /** JSON text as stored; throws `INTERNAL` when the value does not match its own schema. */
  encode(value: T): string;
}

let ajv: Ajv | undefined;

function compile(schema: Record<string, unknown>): ValidateFunction {
  // One instance, created on first use: command-line start-up never pays for schema compilation.
  ajv ??= new Ajv({ allErrors: true, strict: true, verbose: true });
  return ajv.compile(schema);
}

/** `/archives/0/sha256` → `archives[0].sha256`. */
export function fieldOf(instancePath: string, property?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (property !== undefined) parts.push(property);
  return parts.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

function expectedOf(error: ErrorObject): string {
  const description = (error.parentSchema as { description?: string } | undefined)?.description;
  switch (error.keyword) {
    case 'required': return 'this field (it is required)';
    case 'additionalProperties': return `no field ${(error.params as { additionalProperty: string }).additionalProperty}`;
    case 'enum': return `one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const': return JSON.stringify((error.params as { allowedValue: unknown }).allowedValue);
    default: return description ?? error.message ?? error.keyword;
  }
}

function errorsOf(kind: DocumentKind, errors: readonly ErrorObject[], location: ErrorLocation): LupError[] {
  // An `if`/`then` failure is reported by the `then` branch's own error; the `if` one only repeats it.
  return errors.filter((e) => e.keyword !== 'if').map((e) => {
    const property = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty
      : e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : undefined;
    const field = fieldOf(e.instancePath, property) || '(document)';
    return lupError({
      code: kind.code, location: { ...location, field }, expected: expectedOf(e),
      actual: e.keyword === 'required' ? 'nothing' : show(e.data),
      message: `The ${kind.what}'s ${field} is not valid${kind.hint ? `; ${kind.hint}` : ''}.`,
    });
  });
}

/** Build the codec of a document kind. The schema is compiled on first use. */
export function defineDocument<T>(kind: DocumentKind): DocumentCodec<T> {
  let validate: ValidateFunction | undefined;
  const check = (value: unknown, location: ErrorLocation): LupError[] => {
    validate ??= compile(kind.schema);
    const errors = validate(value) ? [] : errorsOf(kind, validate.errors ?? [], location);
    if (!kind.crossCheck) return errors;
    try {
      // Where both speak of one field, the cross-check's error is the more specific (the exact path).
      const cross = kind.crossCheck(value as never, location);
      const byField = new Map(cross.map((e) => [e.location?.field, e]));
      const merged = errors.map((e) => byField.get(e.location?.field) ?? e);
      return [...new Set([...merged, ...cross])];
    } catch (cause) {
      // The cross-checks assume the schema's shape; where it is broken, the schema errors say why.
      if (errors.length > 0) return errors;
      throw cause;
    }
  };
  const decode = (body: Uint8Array | string, location: ErrorLocation): Decoded<T> => {
    const sizeBytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (sizeBytes > kind.maxBytes) {
      return { ok: false, errors: [lupError({ code: kind.code, location, expected: `at most ${kind.maxBytes} bytes`, actual: `${sizeBytes} bytes`, message: `The ${kind.what} is larger than any the pipeline writes; it is refused unread.` })] };
    }
    let value: unknown;
    try {
      value = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    } catch (cause) {
      return { ok: false, errors: [lupError({ code: kind.code, location, expected: `a JSON ${kind.what}`, actual: 'unparseable JSON', message: `The ${kind.what} is not JSON.` }, cause)] };
    }
    const errors = check(value, location);
    return errors.length > 0 ? { ok: false, errors } : { ok: true, value: value as T };
  };
  return {
    what: kind.what,
    maxBytes: kind.maxBytes,
    decode,
    check,
    parse(body, location) {
      const decoded = decode(body, location);
      if (decoded.ok) return decoded.value;
      const [first] = decoded.errors;
      if (decoded.errors.length === 1) throw first;
      throw lupError({ ...first.toJSON(), message: `${first.message} (${decoded.errors.length - 1} more problem(s))` }, first);
    },
    encode(value) {
      const errors = check(value, {});
      if (errors.length > 0) {
        throw lupError({ code: 'INTERNAL', location: errors[0].location, expected: errors[0].expected, actual: errors[0].actual, message: `The pipeline built a ${kind.what} that does not match its schema: ${errors[0].message}` });
      }
      return `${JSON.stringify(value, null, 2)}\n`;
    },
  };
}

/**
 * Props validation shared by the constructs: collect every problem, fail once, name the prop.
 * Modelled on Solutions Constructs' `core/lib/input-validation.ts`.
 */
import { Construct } from 'constructs';
import { LupError, lupError, formatError } from '../core/errors';

const BRAND = Symbol.for('defold-liveupdate-pipeline.InvalidPropsError');

/**
 * Thrown by a construct (or the app) whose props or studio configuration break a rule: carries
 * every problem found, each a `CONFIG_INVALID` {@link LupError} whose `location.field` names the
 * construct path and the prop.
 */
export class InvalidPropsError extends Error {
  /** Stable code of the whole failure. */
  public readonly code = 'CONFIG_INVALID' as const;
  /** Every problem, in the order found. */
  public readonly problems: readonly LupError[];

  constructor(where: string, problems: readonly LupError[]) {
    super(`${where} has ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => indent(formatError(p))).join('\n')}`);
    this.name = 'InvalidPropsError';
    this.problems = problems;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True when `value` is an {@link InvalidPropsError}, also across bundle boundaries. */
export function isInvalidPropsError(value: unknown): value is InvalidPropsError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

function indent(text: string): string {
  return text.split('\n').map((line, i) => (i === 0 ? `  - ${line}` : `    ${line}`)).join('\n');
}

/** A problem to report against a prop; resolved against the construct path by {@link collectProblems}. */
export interface PropProblem {
  readonly prop: string;
  readonly expected: string;
  readonly actual: unknown;
  readonly message: string;
}

/** `PropProblem` when `failed`, else `undefined`; keeps each rule to one line at the call site. */
export function problemIf(failed: boolean, prop: string, expected: string, actual: unknown, message: string): PropProblem | undefined {
  return failed ? { prop, expected, actual, message } : undefined;
}

/** Throw one {@link InvalidPropsError} naming every problem found, or return when there is none. */
export function collectProblems(scope: Construct, problems: readonly (PropProblem | undefined)[]): void {
  const found = problems.filter((p): p is PropProblem => p !== undefined);
  if (found.length === 0) return;
  throw new InvalidPropsError(
    scope.node.path,
    found.map((p) =>
      lupError({
        code: 'CONFIG_INVALID',
        location: { field: `${scope.node.path}.${p.prop}` },
        expected: p.expected,
        actual: describeValue(p.actual),
        message: p.message,
      }),
    ),
  );
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The object pattern for every key under `prefix` (`content/` -> `content/*`). */
export function objectPattern(prefix: string): string {
  return `${prefix}*`;
}

/**
 * Shared test setup for the constructs: an app with the project's feature flags (cdk.json) and
 * without bundling, the example studio configuration, and readers that turn policy documents into
 * plain `action on resource` pairs that can be compared as sets.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { StudioConfig, validateStudioConfig } from '../../lib/core/config';

const ROOT = path.resolve(__dirname, '..', '..');

/** The feature flags of cdk.json, so tests see what `cdk synth` produces. */
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;

/** A new app that never bundles (esbuild is exercised by scripts/synth-check.sh). */
export function testApp(): App {
  return new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
}

/** A stack in a {@link testApp}. */
export function testStack(): Stack {
  return new Stack(testApp(), 'Test');
}

/** The validated example configuration (examples/studio.json), with overrides. */
export function exampleConfig(overrides: Record<string, unknown> = {}): StudioConfig {
  const raw = { ...JSON.parse(readFileSync(path.join(ROOT, 'examples', 'studio.json'), 'utf8')), ...overrides };
  const result = validateStudioConfig(raw);
  if (!result.ok) throw new Error(`examples/studio.json is invalid: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.config;
}

/** Render a template value (string, Ref, GetAtt, Join) as readable text: `<Logical.Arn>/staging/*`. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(text).join(',');
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return `<${String(v.Ref)}>`;
    if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(text).join(sep);
    }
  }
  return JSON.stringify(value);
}

/** `<LogicalId.Arn>` of a bucket, as {@link text} renders it. */
export function bucketArnText(bucket: s3.IBucket): string {
  const cfn = bucket.node.defaultChild as CfnElement;
  return `<${Stack.of(cfn).getLogicalId(cfn)}.Arn>`;
}

/** The object patterns of `resources` inside `bucket` (`<Bucket.Arn>/staging/*` -> `staging/*`). */
export function objectPatterns(bucket: s3.IBucket, resources: readonly string[]): string[] {
  const prefix = `${bucketArnText(bucket)}/`;
  return resources.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
}

/** One IAM statement, normalised: lists everywhere, values rendered with {@link text}. */
export interface FlatStatement {
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly principals: string[];
  readonly condition?: Record<string, Record<string, unknown>>;
  readonly sid?: string;
}

function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Flatten one policy document's statements. */
export function flatten(statements: unknown[]): FlatStatement[] {
  return statements.map((s) => {
    const st = s as Record<string, unknown>;
    const principal = st.Principal as Record<string, unknown> | string | undefined;
    const principals =
      principal === undefined ? [] : typeof principal === 'string' ? [principal] : Object.entries(principal).flatMap(([k, v]) => list(v).map((p) => `${k}:${text(p)}`));
    return {
      effect: st.Effect as string,
      actions: list(st.Action).map(String),
      resources: list(st.Resource).map(text),
      principals,
      condition: st.Condition as FlatStatement['condition'],
      sid: st.Sid as string | undefined,
    };
  });
}

/** Statements of every identity policy (inline or managed) attached to the given role or user. */
export function identityStatements(template: Template, principalLogicalId: string): FlatStatement[] {
  const out: FlatStatement[] = [];
  const attachedTo = (props: Record<string, unknown>) =>
    [...list(props.Roles), ...list(props.Users)].map(text).includes(`<${principalLogicalId}>`);
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const res of Object.values(template.findResources(type))) {
      const props = res.Properties as Record<string, unknown>;
      if (!attachedTo(props)) continue;
      out.push(...flatten((props.PolicyDocument as { Statement: unknown[] }).Statement));
    }
  }
  return out;
}

/** Every `action on resource` pair of Allow statements, as `s3:GetObject staging/*` (bucket patterns shortened). */
export function allowedPairs(statements: readonly FlatStatement[], bucket: s3.IBucket): Set<string> {
  const bucketArn = bucketArnText(bucket);
  const pairs = new Set<string>();
  for (const s of statements.filter((x) => x.effect === 'Allow')) {
    for (const a of s.actions) {
      for (const r of s.resources) pairs.add(`${a} ${r.startsWith(`${bucketArn}/`) ? r.slice(bucketArn.length + 1) : r === bucketArn ? '<bucket>' : r}`);
    }
  }
  return pairs;
}

/** Whether an IAM/S3 resource pattern (`*` and `?` wildcards) matches `key`. */
export function patternMatches(pattern: string, key: string): boolean {
  const re = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('')}$`);
  return re.test(key);
}

/** The logical id of a construct's CloudFormation element. */
export function logicalId(construct: { node: { defaultChild?: unknown } }): string {
  const cfn = construct.node.defaultChild as CfnElement;
  return Stack.of(cfn).getLogicalId(cfn);
}

/** Logical ids a resource depends on (Ref, GetAtt, DependsOn). */
function dependencies(resource: Record<string, unknown>): Set<string> {
  const out = new Set<string>(list(resource.DependsOn).map(String));
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'Ref' && typeof x === 'string') out.add(x);
        else if (k === 'Fn::GetAtt') out.add((x as string[])[0]);
        else walk(x);
      }
    }
  };
  walk(resource.Properties);
  return out;
}

/** A dependency cycle between resources (CloudFormation would refuse it), or `undefined`. */
export function findCycle(template: Template): string[] | undefined {
  const resources = template.toJSON().Resources as Record<string, Record<string, unknown>>;
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done' || !(id in resources)) return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of dependencies(resources[id])) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of Object.keys(resources)) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}

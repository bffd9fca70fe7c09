/**
 * `lup validate <path...>`: check local content (zip, loose folder, manifest or one resource)
 * exactly as the pipeline will, before anything is uploaded.
 */
import type { KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { LocalVerification } from '../content/verify-local';
import { formatError, isLupError, type LupErrorData } from '../core/errors';
import type { Manifest } from '../core/format/manifest';
import type { ValidationPolicy } from '../core/format/policy';
import type { SignatureStatus } from '../core/format/signature';
import { EXIT, UsageError, type CliIo } from './io';
import { registerCommand } from './program';

/** Options shared by `validate` and `inspect`, as commander parses them. */
export interface ContentCommandOptions {
  readonly projectTitle?: string;
  readonly publicKey?: string;
  readonly allowUnsigned?: boolean;
  /** Absent when the flag was not given. */
  readonly engineVersion?: string[];
  readonly json?: boolean;
}

/** The signature as the CLI reports it: `unchecked` when a signature exists but no key was given. */
export type ReportedSignature = SignatureStatus | 'unchecked';

/** One input of `lup validate --json`. */
export interface ValidateInputJson {
  readonly path: string;
  readonly kind: LocalVerification['kind'];
  readonly valid: boolean;
  readonly entryCount: number;
  readonly resourceCount: number;
  readonly customFiles: readonly string[];
  /** `v5`, `legacy` or `legacy-2017`; `null` when no manifest was read. */
  readonly schema: Manifest['schema'] | null;
  /** `null` when there is no manifest (a single resource, or an unreadable manifest). */
  readonly signature: ReportedSignature | null;
  readonly errors: readonly LupErrorData[];
}

/** The whole `lup validate --json` document. */
export interface ValidateJson {
  readonly valid: boolean;
  readonly inputs: readonly ValidateInputJson[];
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Read `--public-key`: a DER SubjectPublicKeyInfo file (`game.public.der`) or a PEM file.
 * @throws UsageError naming `--public-key`, its value and what to pass instead.
 */
export async function readPublicKeyOption(file: string, cwd: string = process.cwd()): Promise<KeyObject> {
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(cwd, file));
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`--public-key="${file}" cannot be read (${errno}); pass the game's public key file: game.public.der (DER) or a PEM file.`);
  }
  const text = bytes.toString('latin1');
  let key: KeyObject;
  try {
    const { parsePublicKey } = await import('../core/config');
    key = parsePublicKey(text.includes('-----BEGIN') ? text : bytes.toString('base64'), '--public-key');
  } catch (error) {
    const reason = isLupError(error) && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    throw new UsageError(`--public-key="${file}" is not a public key${reason}; pass game.public.der (DER SubjectPublicKeyInfo) or a PEM "PUBLIC KEY" file.`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new UsageError(`--public-key="${file}" is a ${key.asymmetricKeyType ?? 'non-RSA'} key; Defold manifests are signed with RSA, pass the RSA key from liveupdate.settings.`);
  }
  return key;
}

/** The validation policy the options describe. */
export async function policyFromOptions(options: ContentCommandOptions, cwd: string = process.cwd()): Promise<ValidationPolicy> {
  return {
    projectTitle: options.projectTitle,
    publicKey: options.publicKey === undefined ? undefined : await readPublicKeyOption(options.publicKey, cwd),
    allowUnsigned: options.allowUnsigned ?? false,
    supportedEngineVersions: options.engineVersion ?? [],
  };
}

/** Refuse, before any work, every path that does not exist: all of them in one message. */
export async function checkPathsExist(paths: readonly string[], cwd: string = process.cwd()): Promise<void> {
  const missing: string[] = [];
  for (const path of paths) {
    try {
      await stat(resolve(cwd, path));
    } catch (error) {
      missing.push(`"${path}" ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read'}`);
    }
  }
  if (missing.length > 0) {
    throw new UsageError(`${missing.join('; ')}; pass a zip archive, a folder with its liveupdate.game.dmanifest, a manifest or a resource file.`);
  }
}

/** The signature status to report for a verification. */
export function reportedSignature(verification: LocalVerification): ReportedSignature | null {
  const { manifest, signature } = verification.report;
  if (signature) return signature;
  if (!manifest) return null;
  return manifest.signature.length === 0 ? 'missing' : 'unchecked';
}

function describeSchema(manifest: Manifest): string {
  return manifest.schema === 'v5' ? `schema ${manifest.version}` : `schema ${manifest.schema} (header version ${manifest.version})`;
}

const SIGNATURE_TEXT: Record<ReportedSignature, string> = {
  valid: 'signature valid',
  invalid: 'signature invalid',
  missing: 'unsigned',
  unchecked: 'signature not checked (no --public-key)',
};

/** The one-line summary of valid content, after "valid — ". */
function describeValid(verification: LocalVerification): string {
  const { kind, report } = verification;
  if (kind === 'resource') return `resource, named by the digest of its payload`;
  const parts: string[] = [kind];
  if (report.manifest) parts.push(describeSchema(report.manifest));
  if (kind === 'manifest') {
    parts.push(`${report.manifest?.resources.length ?? 0} resources listed`);
  } else {
    parts.push(`${report.entryCount} entries (${report.resourceCount} resources, ${report.customFiles.length} custom)`);
  }
  const signature = reportedSignature(verification);
  if (signature) parts.push(SIGNATURE_TEXT[signature]);
  return parts.join(', ');
}

function indent(text: string): string {
  return text.split('\n').map((line) => `  ${line}`).join('\n');
}

/** The human report of one input: one line, then each error when invalid. */
export function formatVerification(verification: LocalVerification): string {
  const { path, report } = verification;
  if (report.valid) return `✔ ${path}: valid — ${describeValid(verification)}\n`;
  const n = report.errors.length;
  const lines = [`✖ ${path}: ${n} ${n === 1 ? 'error' : 'errors'}`];
  for (const error of report.errors) lines.push(indent(formatError(error.toJSON())));
  return `${lines.join('\n')}\n`;
}

/** The `--json` form of one input. */
export function verificationJson(verification: LocalVerification): ValidateInputJson {
  const { path, kind, report } = verification;
  return {
    path,
    kind,
    valid: report.valid,
    entryCount: report.entryCount,
    resourceCount: report.resourceCount,
    customFiles: report.customFiles,
    schema: report.manifest?.schema ?? null,
    signature: reportedSignature(verification),
    errors: report.errors.map((e) => e.toJSON()),
  };
}

/** Run `lup validate`; resolves to the exit code. */
export async function runValidate(paths: readonly string[], options: ContentCommandOptions, io: CliIo): Promise<number> {
  // Loaded on use: `lup --help` and `lup --version` need no manifest codec (issue 11).
  const { verifyLocalPath } = await import('../content/verify-local');
  await checkPathsExist(paths, io.cwd);
  const policy = await policyFromOptions(options, io.cwd);
  const results: LocalVerification[] = [];
  for (const path of paths) {
    const verification = await verifyLocalPath(path, policy, { cwd: io.cwd });
    results.push(verification);
    if (!options.json) io.stdout(formatVerification(verification));
  }
  const valid = results.every((r) => r.report.valid);
  if (options.json) {
    const document: ValidateJson = { valid, inputs: results.map(verificationJson) };
    io.stdout(`${JSON.stringify(document, null, 2)}\n`);
  }
  return valid ? EXIT.ok : EXIT.invalid;
}

registerCommand((program: Command, io: CliIo, state: { exitCode: number }) => {
  program
    .command('validate')
    .description('Check LiveUpdate content as the pipeline will: digests, manifest rules, signature, project and engine versions.')
    .argument('<path...>', 'zip archive, folder of loose resources with its manifest, manifest file, or one resource file')
    .option('--project-title <title>', 'project.title of game.project; the manifest must have been built from it')
    .option('--public-key <file>', 'public key the manifest must be signed with: game.public.der (DER SPKI) or a PEM file')
    .option('--allow-unsigned', 'with --public-key, accept an empty signature (bob since 2026 no longer signs)')
    .option('--engine-version <version>', 'engine version the content must support; repeat for several', collect)
    .option('--json', 'print one JSON document instead of text')
    .addHelpText('after', `
Each path is recognised by what it holds:
  zip        a zip archive bob wrote to build/liveupdate_output (liveupdate.game.dmanifest + resources)
  folder     loose resources named by digest, beside liveupdate.game.dmanifest (or one *.dmanifest)
  manifest   a .dmanifest file alone (rules and signature only)
  resource   one file named by its hex digest (its digest is checked, nothing else)

Options, with an example each:
  --project-title "My Game"          refuse a manifest built from another project
  --public-key game.public.der       check the signature with the key from liveupdate.settings
  --allow-unsigned                   with --public-key, accept unsigned manifests (Defold after April 2026)
  --engine-version 1.9.0             refuse content that does not support engine 1.9.0 (repeatable)
  --json                             machine-readable: { "valid", "inputs": [ { "path", "kind", "errors", ... } ] }

Exit codes: 0 valid, 1 invalid, 2 bad usage (missing path, unreadable --public-key).

Examples:
  $ lup validate build/liveupdate_output/resources.zip --project-title "My Game" --public-key game.public.der
  $ lup validate build/loose/ --engine-version 1.9.0 --json
`)
    .action(async (paths: string[], options: ContentCommandOptions) => {
      state.exitCode = await runValidate(paths, options, io);
    });
});

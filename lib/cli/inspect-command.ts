/**
 * `lup inspect <path>`: describe local content (zip, folder, manifest or resource): schema,
 * counts, algorithms, project and engine-version digests, signature, sizes, custom files.
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { LocalVerification } from '../content/verify-local';
import { HASH_ALGORITHM_BY_CODE, sha1OfText, toHex } from '../core/format/digest';
import type { LupErrorData } from '../core/errors';
import { ENTRY_FLAG, type Manifest } from '../core/format/manifest';
import { HEADER_FLAG, RESOURCE_HEADER_BYTES, parseResourceHeader } from '../core/format/resource-header';
import { EXIT, type CliIo } from './io';
import { registerCommand } from './program';
import {
  checkPathsExist,
  collect,
  readPublicKeyOption,
  reportedSignature,
  type ContentCommandOptions,
  type ReportedSignature,
} from './validate-command';

/** The manifest part of `lup inspect --json`. */
export interface InspectManifestJson {
  readonly schema: Manifest['schema'];
  readonly version: number;
  /** e.g. `sha1`; `unknown (7)` for a code the format does not define. */
  readonly resourceHashAlgorithm: string;
  readonly signatureHashAlgorithm: string;
  readonly signAlgorithm: string;
  readonly projectIdentifier: string;
  /** The `--project-title` when the identifier is its SHA-1, else `null`. */
  readonly projectTitle: string | null;
  /** Each digest, with the version string when known (`""` or an `--engine-version`), else `null`. */
  readonly engineVersions: readonly { readonly digest: string; readonly version: string | null }[];
  /** `compressed` and `encrypted` are `null` in the pre-1.5 schema, whose flags do not record them. */
  readonly counts: {
    readonly resources: number;
    readonly bundled: number;
    readonly excluded: number;
    readonly compressed: number | null;
    readonly encrypted: number | null;
  };
  readonly signature: { readonly present: boolean; readonly sizeBytes: number; readonly status: ReportedSignature };
  readonly archiveIdentifier: string | null;
  readonly sha256: string | null;
  readonly sizeBytes: number | null;
}

/** The resource part of `lup inspect --json` (kind `resource`). */
export interface InspectResourceJson {
  readonly name: string;
  /** `null` when the header is unreadable. */
  readonly header: { readonly uncompressedSizeBytes: number; readonly flags: number; readonly compressed: boolean; readonly encrypted: boolean; readonly liveupdate: boolean } | null;
}

/** The whole `lup inspect --json` document. Keys are stable; values may be `null` when unknown. */
export interface InspectJson {
  readonly path: string;
  readonly kind: LocalVerification['kind'];
  /** Size on disk: the zip, the manifest, the resource, or the sum of the folder's files. */
  readonly sizeBytes: number;
  readonly entryCount: number;
  readonly totalUncompressedBytes: number;
  readonly customFiles: readonly string[];
  readonly manifest: InspectManifestJson | null;
  readonly resource: InspectResourceJson | null;
  /** The validation verdict with the given options (see `lup validate` for the rules). */
  readonly valid: boolean;
  readonly errors: readonly LupErrorData[];
}

function algorithmName(code: number): string {
  return HASH_ALGORITHM_BY_CODE[code] ?? `unknown (${code})`;
}

function manifestJson(verification: LocalVerification, options: ContentCommandOptions): InspectManifestJson | null {
  const { manifest, manifestBytes, manifestSha256 } = verification.report;
  if (!manifest) return null;
  const known = new Map<string, string>();
  for (const version of ['', ...(options.engineVersion ?? [])]) known.set(sha1OfText(version), version);
  const schemaHasFlags = manifest.schema === 'v5';
  const count = (flag: number): number => manifest.resources.filter((e) => (e.flags & flag) !== 0).length;
  return {
    schema: manifest.schema,
    version: manifest.version,
    resourceHashAlgorithm: algorithmName(manifest.resourceHashAlgorithmCode),
    signatureHashAlgorithm: algorithmName(manifest.signatureHashAlgorithmCode),
    signAlgorithm: manifest.signAlgorithmCode === 1 ? 'rsa' : `unknown (${manifest.signAlgorithmCode})`,
    projectIdentifier: manifest.projectIdentifier,
    projectTitle: options.projectTitle !== undefined && sha1OfText(options.projectTitle) === manifest.projectIdentifier ? options.projectTitle : null,
    engineVersions: manifest.engineVersions.map((digest) => ({ digest, version: known.get(digest) ?? null })),
    counts: {
      resources: manifest.resources.length,
      bundled: count(ENTRY_FLAG.BUNDLED),
      excluded: count(ENTRY_FLAG.EXCLUDED),
      compressed: schemaHasFlags ? count(ENTRY_FLAG.COMPRESSED) : null,
      encrypted: schemaHasFlags ? count(ENTRY_FLAG.ENCRYPTED) : null,
    },
    signature: {
      present: manifest.signature.length > 0,
      sizeBytes: manifest.signature.length,
      status: reportedSignature(verification) ?? 'missing',
    },
    archiveIdentifier: manifest.archiveIdentifier && manifest.archiveIdentifier.length > 0 ? toHex(manifest.archiveIdentifier) : null,
    sha256: manifestSha256 ?? null,
    sizeBytes: manifestBytes?.length ?? null,
  };
}

async function resourceJson(verification: LocalVerification, cwd: string): Promise<InspectResourceJson | null> {
  if (verification.kind !== 'resource') return null;
  const handle = await open(resolve(cwd, verification.path), 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(RESOURCE_HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, RESOURCE_HEADER_BYTES, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const name = verification.report.resources[0];
  try {
    const header = parseResourceHeader(head);
    return {
      name,
      header: {
        uncompressedSizeBytes: header.uncompressedSizeBytes,
        flags: header.flags,
        compressed: (header.flags & HEADER_FLAG.COMPRESSED) !== 0,
        encrypted: (header.flags & HEADER_FLAG.ENCRYPTED) !== 0,
        liveupdate: (header.flags & HEADER_FLAG.LIVEUPDATE) !== 0,
      },
    };
  } catch {
    // The error itself is in `errors` (identity check) or obvious from `header: null`.
    return { name, header: null };
  }
}

/** Build the `--json` document of `lup inspect`. */
export async function inspectJson(verification: LocalVerification, options: ContentCommandOptions, cwd: string = process.cwd()): Promise<InspectJson> {
  const { path, kind, report, sizeBytes } = verification;
  return {
    path,
    kind,
    sizeBytes,
    entryCount: report.entryCount,
    totalUncompressedBytes: report.totalUncompressedBytes,
    customFiles: report.customFiles,
    manifest: manifestJson(verification, options),
    resource: await resourceJson(verification, cwd),
    valid: report.valid,
    errors: report.errors.map((e) => e.toJSON()),
  };
}

const SIGNATURE_TEXT: Record<ReportedSignature, string> = {
  valid: 'valid (checked with --public-key)',
  invalid: 'INVALID for --public-key',
  missing: 'none (unsigned)',
  unchecked: 'present, not checked (pass --public-key)',
};

/** The aligned, human-readable form of {@link InspectJson}. */
export function formatInspect(info: InspectJson): string {
  const rows: [string, string][] = [];
  const add = (label: string, value: string): void => void rows.push([label, value]);
  add('path', info.path);
  const sizes = info.kind === 'zip'
    ? `${info.sizeBytes} bytes, ${info.entryCount} entries, ${info.totalUncompressedBytes} bytes uncompressed`
    : info.kind === 'folder' ? `${info.entryCount} files, ${info.sizeBytes} bytes` : `${info.sizeBytes} bytes`;
  add('kind', `${info.kind} (${sizes})`);
  const m = info.manifest;
  if (m) {
    add('schema', m.schema === 'v5' ? `5 (ManifestFile.version ${m.version})` : `${m.schema} (pre-1.5, header version ${m.version})`);
    add('algorithms', `resources ${m.resourceHashAlgorithm}, signature ${m.signatureHashAlgorithm} + ${m.signAlgorithm}`);
    add('project identifier', `${m.projectIdentifier}${m.projectTitle !== null ? ` (SHA-1 of "${m.projectTitle}")` : ''}`);
    m.engineVersions.forEach((v, i) => {
      const name = v.version === null ? '(unknown version; name it with --engine-version)' : v.version === '' ? '(SHA-1 of "": no supported-versions set)' : `(engine ${v.version})`;
      add(i === 0 ? 'engine versions' : '', `${v.digest} ${name}`);
    });
    if (m.engineVersions.length === 0) add('engine versions', 'none');
    const c = m.counts;
    const flags = c.compressed === null ? 'compression and encryption not recorded in this schema' : `${c.compressed} compressed, ${c.encrypted} encrypted`;
    add('resources', `${c.resources} (${c.bundled} bundled, ${c.excluded} excluded; ${flags})`);
    add('signature', m.signature.present ? `${m.signature.sizeBytes} bytes, ${SIGNATURE_TEXT[m.signature.status]}` : SIGNATURE_TEXT.missing);
    add('archive identifier', m.archiveIdentifier ?? 'none');
    if (m.sha256) add('manifest', `${m.sizeBytes} bytes, sha256 ${m.sha256}`);
  }
  const r = info.resource;
  if (r) {
    add('digest name', r.name);
    add('header', r.header
      ? `size ${r.header.uncompressedSizeBytes} bytes, flags ${r.header.flags} (${[r.header.compressed && 'compressed', r.header.encrypted && 'encrypted', r.header.liveupdate && 'liveupdate'].filter(Boolean).join(', ') || 'none'})`
      : 'unreadable');
  }
  if (info.kind !== 'manifest' && info.kind !== 'resource') add('custom files', info.customFiles.length > 0 ? info.customFiles.join(', ') : 'none');
  const n = info.errors.length;
  add('validation', info.valid ? 'valid' : `${n} ${n === 1 ? 'error' : 'errors'} (run "lup validate" for details)`);
  const width = Math.max(...rows.map(([label]) => label.length));
  return `${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`;
}

/** Run `lup inspect`; resolves to the exit code (1 when no manifest or resource could be read). */
export async function runInspect(path: string, options: ContentCommandOptions, io: CliIo): Promise<number> {
  await checkPathsExist([path], io.cwd);
  const publicKey = options.publicKey === undefined ? undefined : await readPublicKeyOption(options.publicKey, io.cwd);
  const policy = { publicKey, projectTitle: options.projectTitle, allowUnsigned: options.allowUnsigned };
  const { verifyLocalPath } = await import('../content/verify-local');
  const verification = await verifyLocalPath(path, policy, { cwd: io.cwd });
  const info = await inspectJson(verification, options, io.cwd);
  io.stdout(options.json ? `${JSON.stringify(info, null, 2)}\n` : formatInspect(info));
  const described = info.manifest !== null || info.resource !== null;
  if (!described && !options.json) {
    for (const error of verification.report.errors) io.stderr(`${error.code}: ${error.message}\n`);
  }
  return described ? EXIT.ok : EXIT.invalid;
}

registerCommand((program: Command, io: CliIo, state: { exitCode: number }) => {
  program
    .command('inspect')
    .description('Describe LiveUpdate content: schema, counts, algorithms, project and engine digests, signature, sizes.')
    .argument('<path>', 'zip archive, folder of loose resources, manifest file, or one resource file')
    .option('--project-title <title>', 'name the project identifier when it is the SHA-1 of this title')
    .option('--public-key <file>', 'check the signature with this key: game.public.der (DER SPKI) or a PEM file')
    .option('--allow-unsigned', 'do not count an empty signature as an error when --public-key is given')
    .option('--engine-version <version>', 'name engine-version digests that are the SHA-1 of this version; repeat for several', collect)
    .option('--json', 'print one JSON document with stable keys instead of text')
    .addHelpText('after', `
Options, with an example each:
  --project-title "My Game"       show "(SHA-1 of "My Game")" beside a matching project identifier
  --public-key game.public.der    report the signature as valid or INVALID instead of "not checked"
  --allow-unsigned                with --public-key, an unsigned manifest is not reported as an error
  --engine-version 1.9.0          name the digest of "1.9.0" in the engine-version list (repeatable);
                                  SHA-1 of "" (no supported-versions set) is always named
  --json                          { "path", "kind", "sizeBytes", "entryCount", "totalUncompressedBytes",
                                    "customFiles", "manifest": { "schema", "counts", "engineVersions",
                                    "signature", ... }, "resource", "valid", "errors" }

Exit codes: 0 described, 1 nothing readable (no manifest decodes), 2 bad usage.

Examples:
  $ lup inspect build/liveupdate_output/resources.zip --engine-version 1.9.0
  $ lup inspect liveupdate.game.dmanifest --public-key game.public.der --json
`)
    .action(async (path: string, options: ContentCommandOptions) => {
      state.exitCode = await runInspect(path, options, io);
    });
});

/**
 * Verification of content on the local disk, whatever its shape: a zip archive, a folder of
 * loose resources beside their manifest, a manifest alone, or one resource file. Used by
 * `lup validate`, `lup inspect` and `lup publish` (which checks before it uploads).
 *
 * Resource files are streamed through a {@link ResourceDigester}: memory stays at one chunk per
 * file, whatever the size of the content.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve } from 'node:path';
import { fileByteSource } from '../adapters/file-source';
import type { ArchiveLimits } from '../core/format/archive';
import { algorithmForHexName } from '../core/format/digest';
import { isLupError, lupError, type ErrorLocation, type LupError } from '../core/errors';
import { findFolderManifest } from '../core/format/folder-manifest';
import { MAX_MANIFEST_BYTES } from '../core/format/manifest-codec';
import type { ValidationPolicy } from '../core/format/policy';
import { ResourceDigester } from '../core/format/resource-header';
import { checkResourceIdentity, type ResourceObservation } from '../core/format/validate-content';
import { verifyAgainstManifest, verifyArchive, type ContentReport } from '../core/format/verify-archive';

/** What a local path holds, as {@link verifyLocalPath} recognised it. */
export type LocalContentKind =
  /** A zip archive (engine 1.5+ zip mount), recognised by its `PK` signature or a `.zip` name. */
  | 'zip'
  /** A folder: loose resources named by digest beside their manifest. */
  | 'folder'
  /** A manifest file alone (`.dmanifest`, or any file that is neither a zip nor hex-named). */
  | 'manifest'
  /** One resource file, named by its hex digest: only its identity can be checked. */
  | 'resource';

/** The outcome of {@link verifyLocalPath}. */
export interface LocalVerification {
  readonly path: string;
  readonly kind: LocalContentKind;
  readonly report: ContentReport;
  /** Size of the input on disk, in bytes (for a folder: the sum of its files). */
  readonly sizeBytes: number;
}

/** Options of {@link verifyLocalPath}. */
export interface VerifyLocalOptions {
  /** Zip limits to override. @default DEFAULT_ARCHIVE_LIMITS */
  readonly limits?: Partial<ArchiveLimits>;
  /**
   * Folder a relative `path` is resolved against. Error locations and the result keep `path` as
   * given, so messages show what the user typed. @default process.cwd()
   */
  readonly cwd?: string;
}

const ZIP_SIGNATURES = [
  Buffer.from([0x50, 0x4b, 0x03, 0x04]), // local file header
  Buffer.from([0x50, 0x4b, 0x05, 0x06]), // end of central directory (an empty zip)
];

/**
 * Verify the content at `path` against the format's rules and `policy`.
 *
 * Completeness (every EXCLUDED entry present) is required of zips and folders unless
 * `policy.requireComplete` says otherwise; never of a manifest or resource alone.
 *
 * Never throws for bad content: every finding is in `report.errors`.
 * @throws LupError `INPUT_NOT_FOUND` when `path` does not exist or cannot be read.
 */
export async function verifyLocalPath(path: string, policy: ValidationPolicy = {}, options: VerifyLocalOptions = {}): Promise<LocalVerification> {
  const absolute = resolve(options.cwd ?? process.cwd(), path);
  const stats = await stat(absolute).catch((error: unknown) => {
    throw notFound(path, error);
  });
  if (stats.isDirectory()) return verifyFolder(absolute, path, policy);
  if (!stats.isFile()) {
    throw lupError({ code: 'INPUT_NOT_FOUND', location: { file: path }, message: `${path} is neither a file nor a folder; pass a zip, a folder, a manifest or a resource file.` });
  }
  const head = await readHead(absolute, path, 4);
  // A .zip name counts too, so a zip cut down to a few bytes is reported as a broken archive.
  if (ZIP_SIGNATURES.some((signature) => signature.equals(head)) || extname(path).toLowerCase() === '.zip') {
    const source = await fileByteSource(absolute);
    try {
      const report = await verifyArchive(source, { policy, location: { file: path }, limits: options.limits });
      return { path, kind: 'zip', report, sizeBytes: stats.size };
    } finally {
      await source.close();
    }
  }
  const name = basename(path);
  if (algorithmForHexName(name) !== undefined) {
    const observation = await observeResource(absolute, name, { file: path });
    const identity = checkResourceIdentity(observation);
    const errors = identity ? [identity] : [];
    return { path, kind: 'resource', report: resourceReport(observation, errors, stats.size), sizeBytes: stats.size };
  }
  // A file that is neither a zip nor hex-named is taken for a manifest: if it is not one,
  // decoding says so (MANIFEST_UNREADABLE / MANIFEST_SCHEMA_UNKNOWN) with the reason.
  // One byte over the limit is enough for decodeManifest to refuse a huge file unread.
  const manifestBytes = await readHead(absolute, path, MAX_MANIFEST_BYTES + 1);
  const report = verifyAgainstManifest(manifestBytes, [], {
    policy,
    location: { file: path },
    requireComplete: false,
    entryCount: 1,
    totalUncompressedBytes: stats.size,
    customFiles: [],
  });
  return { path, kind: 'manifest', report, sizeBytes: stats.size };
}

async function verifyFolder(dir: string, shownDir: string, policy: ValidationPolicy): Promise<LocalVerification> {
  const files = await listFiles(dir);
  const shown = (file: LocalFile): string => join(shownDir, file.relativePath);
  const top = files.filter((f) => !f.relativePath.includes('/'));
  const found = findFolderManifest(shownDir, top.map((f) => f.relativePath));
  const manifestFile = 'name' in found ? top.find((f) => f.relativePath === found.name) : undefined;
  const sizeBytes = files.reduce((sum, f) => sum + f.sizeBytes, 0);
  const observations: ResourceObservation[] = [];
  const customFiles: string[] = [];
  for (const file of files) {
    if (file === manifestFile) continue;
    if (!file.relativePath.includes('/') && algorithmForHexName(file.relativePath) !== undefined) {
      observations.push(await observeResource(file.path, file.relativePath, { file: shown(file), entry: file.relativePath }));
    } else {
      customFiles.push(file.relativePath);
    }
  }
  if ('error' in found || !manifestFile) {
    return {
      path: shownDir,
      kind: 'folder',
      sizeBytes,
      report: {
        valid: false, errors: 'error' in found ? [found.error] : [], entryCount: files.length, resourceCount: observations.length,
        resources: observations.map((o) => o.name), customFiles, missing: [], totalUncompressedBytes: sizeBytes,
      },
    };
  }
  const manifestBytes = await readHead(manifestFile.path, shown(manifestFile), MAX_MANIFEST_BYTES + 1);
  const report = verifyAgainstManifest(manifestBytes, observations, {
    policy,
    location: { file: shown(manifestFile) },
    requireComplete: policy.requireComplete ?? true,
    entryCount: files.length,
    totalUncompressedBytes: sizeBytes,
    customFiles,
  });
  return { path: shownDir, kind: 'folder', report, sizeBytes };
}

interface LocalFile {
  readonly path: string;
  /** Path below the folder, with `/` separators. */
  readonly relativePath: string;
  readonly sizeBytes: number;
}

/** Every regular file below `dir`, sorted by relative path so reports are stable. */
async function listFiles(dir: string): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const { size } = await stat(path);
        out.push({ path, relativePath: relative(dir, path).split('\\').join('/'), sizeBytes: size });
      }
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
}

/** Stream one file through the digester the name's length implies. */
async function observeResource(path: string, name: string, location: ErrorLocation): Promise<ResourceObservation> {
  const algorithm = algorithmForHexName(name);
  if (!algorithm) throw lupError({ code: 'INTERNAL', location, message: `${name} is not a hex digest name.` });
  const digester = new ResourceDigester(algorithm);
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) digester.update(chunk);
  const { header, digest, payloadSizeBytes } = digester.finish();
  return { name, digest, header, payloadSizeBytes, location };
}

function resourceReport(observation: ResourceObservation, errors: LupError[], sizeBytes: number): ContentReport {
  return {
    valid: errors.length === 0,
    errors,
    entryCount: 1,
    resourceCount: 1,
    resources: [observation.name],
    customFiles: [],
    missing: [],
    totalUncompressedBytes: sizeBytes,
  };
}

/** Up to `length` bytes from the start of a file (`shownPath` names it in errors). */
async function readHead(path: string, shownPath: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r').catch((error: unknown) => {
    throw notFound(shownPath, error);
  });
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, length));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

function notFound(path: string, error: unknown): LupError {
  if (isLupError(error)) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  return lupError(
    {
      code: 'INPUT_NOT_FOUND',
      location: { file: path },
      actual: errno ?? String(error),
      message: `${path} ${errno === 'ENOENT' ? 'does not exist' : `cannot be read${errno ? ` (${errno})` : ''}`}; check the path.`,
    },
    error,
  );
}


/**
 * What `lup publish` will send: the archives (engine 1.5+) or the loose folder (a manifest and its
 * hex-named resources), each file hashed once, and checked locally first so that bad content is
 * refused before a byte is uploaded.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileByteSource } from '../adapters/file-source';
import { hashingSource } from '../core/format/hashing-source';
import { algorithmForHexName, createHasher } from '../core/format/digest';
import { forEachArchiveEntry, readEntryBytes } from '../core/format/archive';
import { isLupError, lupError, type LupError } from '../core/errors';
import type { Manifest } from '../core/format/manifest';
import { decodeManifest, MAX_MANIFEST_BYTES } from '../core/format/manifest-codec';
import { FOLDER_MANIFEST_NAMES, findFolderManifest } from '../core/format/folder-manifest';
import { MANIFEST_NAME } from '../core/keys';
import type { ValidationPolicy } from '../core/format/policy';
import { ResourceDigester } from '../core/format/resource-header';
import type { ResourceObservation } from '../core/format/validate-content';
import { verifyAgainstManifest, verifyArchive } from '../core/format/verify-archive';

/** A local file to upload. */
export interface PlannedFile {
  /** Name in the upload folder: the archive's file name, the resource's digest, or the manifest name. */
  readonly name: string;
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

/** An archive with its mount priority. */
export interface PlannedArchive extends PlannedFile {
  readonly priority: number;
}

/** Everything a publish sends. */
export interface PublishPlan {
  readonly kind: 'archives' | 'loose';
  readonly archives: readonly PlannedArchive[];
  readonly manifest?: PlannedFile;
  readonly resources: readonly PlannedFile[];
  /** Non-resource files of a loose folder: reported, not published. */
  readonly customFiles: readonly string[];
  /** Problems found by the local check (empty when it was skipped or passed). */
  readonly errors: readonly LupError[];
  readonly totalBytes: number;
}

const ARCHIVE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.zip$/;

function inputError(path: string, message: string, expected: string): LupError {
  return lupError({ code: 'INPUT_NOT_FOUND', location: { file: path }, expected, actual: path, message });
}

/** Options of {@link planPublish}. */
export interface PlanOptions {
  /** Check the content locally (format, digests, the policy's rules). */
  readonly precheck: boolean;
  readonly policy?: ValidationPolicy;
  /**
   * Archives only: do not read them here, but with {@link readPlannedArchives} while they upload
   * (their SHA-256, and the check when `precheck`); their `sha256` is empty until then. A loose
   * folder is always read and checked here: each file is read once for its digest anyway.
   * @default false
   */
  readonly readArchivesLater?: boolean;
}

/** What reading a plan's archives found: the problems of the local check (if it ran) and each archive's SHA-256. */
export interface ArchiveReading {
  readonly errors: readonly LupError[];
  /** In the plan's archive order. */
  readonly sha256: readonly string[];
}

/** Sort the given paths into archives or one loose folder; throws `INPUT_NOT_FOUND` / `USAGE_INVALID`. */
export async function planPublish(paths: readonly string[], options: PlanOptions): Promise<PublishPlan> {
  if (paths.length === 0) throw lupError({ code: 'USAGE_INVALID', location: { flag: '<path...>' }, message: 'Name the zip archive(s) or the loose folder to publish.' });
  const kinds = await Promise.all(paths.map(async (p) => {
    const s = await stat(p).catch(() => undefined);
    if (!s) throw inputError(p, `${p} does not exist.`, `a zip archive or a folder with its manifest (${FOLDER_MANIFEST_NAMES})`);
    if (s.isDirectory()) return { path: p, dir: true as const };
    if (p.endsWith('.zip')) return { path: p, dir: false as const, sizeBytes: s.size };
    throw lupError({
      code: 'USAGE_INVALID', location: { file: p }, expected: 'a .zip file or a folder', actual: p,
      message: `${p} is neither a zip archive nor a folder; publish the zip(s) bob wrote, or the folder of loose resources with its manifest.`,
    });
  }));
  if (kinds.some((k) => k.dir)) {
    if (kinds.length > 1) throw lupError({ code: 'USAGE_INVALID', location: { flag: '<path...>' }, expected: 'one loose folder, or zip archives', actual: paths.join(' '), message: 'Publish one loose folder at a time, or only zip archives.' });
    return planLoose(paths[0], options);
  }
  return planArchives(kinds.map((k) => ({ path: k.path, sizeBytes: (k as { sizeBytes: number }).sizeBytes })), options);
}

async function planArchives(files: { path: string; sizeBytes: number }[], options: PlanOptions): Promise<PublishPlan> {
  const names = files.map((f) => basename(f.path));
  names.forEach((name, i) => {
    if (!ARCHIVE_NAME.test(name)) throw lupError({ code: 'USAGE_INVALID', location: { file: files[i].path }, expected: 'a file name of letters, digits, ".", "_" or "-" ending in .zip', actual: name, message: `Rename ${name}: archive names become part of URLs.` });
    if (names.indexOf(name) !== i) throw lupError({ code: 'USAGE_INVALID', location: { file: files[i].path }, expected: 'distinct archive names', actual: name, message: `Two archives are named ${name}.` });
  });
  const errors: LupError[] = [];
  const archives: PlannedArchive[] = [];
  for (const [i, file] of files.entries()) {
    let sha256 = '';
    if (!options.readArchivesLater) {
      const reading = await readArchive(file.path, files.length, options.precheck ? options.policy ?? {} : undefined);
      errors.push(...reading.errors);
      sha256 = reading.sha256;
    }
    // Mount order = the order given: the first archive gets the highest priority.
    archives.push({ name: names[i], path: file.path, sizeBytes: file.sizeBytes, sha256, priority: (files.length - i) * 10 });
  }
  return { kind: 'archives', archives, resources: [], customFiles: [], errors, totalBytes: archives.reduce((n, a) => n + a.sizeBytes, 0) };
}

/**
 * Read a plan made with `readArchivesLater`: each archive's SHA-256 and, when `check` is given,
 * the local check (format, digests, the policy's rules), in one pass over each file.
 */
export async function readPlannedArchives(plan: PublishPlan, check?: ValidationPolicy): Promise<ArchiveReading> {
  const errors: LupError[] = [];
  const sha256: string[] = [];
  for (const archive of plan.archives) {
    const reading = await readArchive(archive.path, plan.archives.length, check);
    errors.push(...reading.errors);
    sha256.push(reading.sha256);
  }
  return { errors, sha256 };
}

/**
 * One archive read once: its SHA-256 taken from the bytes the check reads (or from a plain read
 * without a check). With several archives, completeness is judged across all of them by the pipeline.
 */
async function readArchive(path: string, archiveCount: number, check: ValidationPolicy | undefined): Promise<{ errors: readonly LupError[]; sha256: string }> {
  const opened = await fileByteSource(path);
  try {
    const source = hashingSource(opened, 'sha256');
    const errors = check ? (await verifyArchive(source, { policy: { ...check, requireComplete: archiveCount === 1 }, location: { file: path } })).errors : [];
    return { errors, sha256: await source.digest() };
  } finally {
    await opened.close();
  }
}

async function planLoose(dir: string, options: PlanOptions): Promise<PublishPlan> {
  const entries = await readdir(dir, { withFileTypes: true });
  const found = findFolderManifest(dir, entries.filter((e) => e.isFile()).map((e) => e.name));
  // Refused whether or not the local check runs: there is nothing to release without a manifest.
  if ('error' in found) return { kind: 'loose', archives: [], resources: [], customFiles: [], errors: [found.error], totalBytes: 0 };
  const manifestName = found.name;
  const manifestPath = join(dir, manifestName);
  const manifestBytes = await readFile(manifestPath);
  const manifest: PlannedFile = { name: MANIFEST_NAME, path: manifestPath, sizeBytes: manifestBytes.length, sha256: createHasher('sha256').update(manifestBytes).digest('hex') };
  const resources: PlannedFile[] = [];
  const observations: ResourceObservation[] = [];
  const customFiles: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || entry.name === manifestName) continue;
    const algorithm = algorithmForHexName(entry.name);
    if (!algorithm) {
      customFiles.push(entry.name);
      continue;
    }
    const path = join(dir, entry.name);
    const digester = new ResourceDigester(algorithm);
    const sha = createHasher('sha256');
    let sizeBytes = 0;
    for await (const chunk of createReadStream(path)) {
      digester.update(chunk as Buffer);
      sha.update(chunk as Buffer);
      sizeBytes += (chunk as Buffer).length;
    }
    const { header, digest, payloadSizeBytes } = digester.finish();
    observations.push({ name: entry.name, digest, header, payloadSizeBytes, location: { file: path } });
    resources.push({ name: entry.name, path, sizeBytes, sha256: sha.digest('hex') });
  }
  const errors = options.precheck
    ? verifyAgainstManifest(manifestBytes, observations, {
      policy: options.policy ?? {}, location: { file: manifestPath }, requireComplete: false,
      entryCount: entries.length, totalUncompressedBytes: 0, customFiles,
    }).errors
    : [];
  return { kind: 'loose', archives: [], manifest, resources, customFiles, errors: [...errors], totalBytes: manifest.sizeBytes + resources.reduce((n, r) => n + r.sizeBytes, 0) };
}

/**
 * The manifests a plan would publish, decoded: the loose folder's, or each archive's own
 * (`liveupdate.game.dmanifest` entry). One that cannot be read is left out: the local check and
 * the pipeline report it with the reason. Read only when needed (a development pin to check).
 */
export async function readPlannedManifests(plan: PublishPlan): Promise<{ file: string; manifest: Manifest }[]> {
  const decoded: { file: string; manifest: Manifest }[] = [];
  const decode = (file: string, bytes: Uint8Array): void => {
    try {
      decoded.push({ file, manifest: decodeManifest(bytes, { file }) });
    } catch (error) {
      if (!isLupError(error)) throw error;
    }
  };
  if (plan.manifest) decode(plan.manifest.path, await readFile(plan.manifest.path));
  for (const archive of plan.archives) {
    const source = await fileByteSource(archive.path);
    try {
      let bytes: Uint8Array | undefined;
      await forEachArchiveEntry(source, async (entry) => {
        if (entry.name === MANIFEST_NAME) bytes = await readEntryBytes(entry, MAX_MANIFEST_BYTES);
      }, { location: { file: archive.path } });
      if (bytes) decode(archive.path, bytes);
    } catch (error) {
      if (!isLupError(error)) throw error;
    } finally {
      await source.close();
    }
  }
  return decoded;
}

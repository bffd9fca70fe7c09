/**
 * Writers for factory-made content: a zip archive as bob writes to `build/liveupdate_output/`
 * (engine 1.5+ "zip" mode) and a loose folder (one file per resource, named by its hex digest,
 * beside `liveupdate.game.dmanifest`: the pre-1.5 layout and the 1.5+ "folder" mount).
 * Both are byte-for-byte deterministic, so generated samples can be committed and re-made.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as yazl from 'yazl';
import { MANIFEST_NAME } from '../core/keys';
import type { FactoryContent } from './content-factory';

/** Options of {@link zipContent} and {@link writeZip}. */
export interface ZipContentOptions {
  /**
   * Deflate the entries, as bob does. Off stores them: the bytes then do not depend on the zlib
   * build of the Node.js that wrote them, which matters for committed samples.
   * @default true
   */
  readonly compress?: boolean;
}

/**
 * Every entry gets this timestamp. Built from local-time parts and written as a DOS timestamp
 * only (no UTC extra field), so the bytes do not depend on the clock or the time zone.
 */
function fixedTimestamp(): Date {
  return new Date(2020, 0, 1, 0, 0, 0);
}

function buildZip(content: FactoryContent, options: ZipContentOptions): yazl.ZipFile {
  const zip = new yazl.ZipFile();
  const entryOptions = { compress: options.compress ?? true, mtime: fixedTimestamp(), forceDosTimestamp: true, mode: 0o100644 };
  zip.addBuffer(Buffer.from(content.manifestBytes), MANIFEST_NAME, entryOptions);
  for (const file of content.resources) zip.addBuffer(Buffer.from(file.bytes), file.name, entryOptions);
  for (const file of content.customFiles) zip.addBuffer(Buffer.from(file.bytes), file.name, entryOptions);
  zip.end();
  return zip;
}

/**
 * The content as one zip in memory: `liveupdate.game.dmanifest` first, then the resources by
 * name, then the custom files. For tests and small content; use {@link writeZip} for files.
 */
export async function zipContent(content: FactoryContent, options: ZipContentOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of buildZip(content, options).outputStream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/**
 * Write the content as a zip archive at `path` (parent folders are created). Resolves with the
 * archive's size in bytes.
 */
export async function writeZip(content: FactoryContent, path: string, options: ZipContentOptions = {}): Promise<{ sizeBytes: number }> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  await pipeline(buildZip(content, options).outputStream, out);
  return { sizeBytes: out.bytesWritten };
}

/**
 * Write the content as a loose folder: `liveupdate.game.dmanifest`, one file per EXCLUDED
 * resource named by its hex digest (header + payload, as the Defold editor's publisher uploads
 * them), and the custom files. `dir` is created when missing; existing files are overwritten,
 * other files are left alone.
 */
export async function writeLooseFolder(content: FactoryContent, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MANIFEST_NAME), content.manifestBytes);
  for (const file of [...content.resources, ...content.customFiles]) {
    const target = join(dir, file.name);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.bytes);
  }
}

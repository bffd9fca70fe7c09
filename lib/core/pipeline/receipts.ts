/**
 * Receipts: small records the pipeline writes once content is verified, keyed by the content's
 * SHA-256. A release is assembled from receipts, so content verified by an earlier upload (and
 * skipped by the CLI) counts without being sent again.
 */
import { isExcluded, type Manifest, type ManifestSchema } from '../format/manifest';
import { keys } from '../keys';
import type { PipelineContext } from './context';
import { createJson, readJson } from './documents';

/** A verified manifest, stored at `content/<game>/manifests/<sha256>.dmanifest`. */
export interface ManifestReceipt {
  readonly schemaVersion: 1;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly schema: ManifestSchema;
  readonly projectIdentifier: string;
  readonly engineVersions: readonly string[];
  /** Digests of the EXCLUDED resources: what LiveUpdate must deliver. */
  readonly excluded: readonly string[];
  readonly verifiedAt: string;
}

/** A verified archive, stored at `content/<game>/archives/<sha256>.zip`. */
export interface ArchiveReceipt {
  readonly schemaVersion: 1;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly manifest: ManifestReceipt;
  /** Digests of the resources inside. */
  readonly resources: readonly string[];
  readonly customFiles: readonly string[];
  readonly verifiedAt: string;
}

/** The receipt fields of a verified manifest. */
export function manifestReceiptOf(manifest: Manifest, sha256: string, sizeBytes: number, verifiedAt: string): ManifestReceipt {
  const excluded = [...new Set(manifest.resources.filter(isExcluded).map((e) => e.hash))];
  return {
    schemaVersion: 1, sha256, sizeBytes, schema: manifest.schema, projectIdentifier: manifest.projectIdentifier,
    engineVersions: manifest.engineVersions, excluded, verifiedAt,
  };
}

/**
 * Receipts list every digest of a manifest: at the pre-scan's 200,000 resources with 128-hex names,
 * about 26 MB written compactly. They get their own bound (the pipeline alone writes state/).
 */
export const MAX_RECEIPT_BYTES = 32 * 1024 * 1024;

export async function writeManifestReceipt(context: PipelineContext, game: string, receipt: ManifestReceipt): Promise<void> {
  await createJson(context.store, keys.manifestReceipt(game, receipt.sha256), receipt);
}

export async function writeArchiveReceipt(context: PipelineContext, game: string, receipt: ArchiveReceipt): Promise<void> {
  await createJson(context.store, keys.archiveReceipt(game, receipt.sha256), receipt);
}

export async function readManifestReceipt(context: PipelineContext, game: string, sha256: string): Promise<ManifestReceipt | undefined> {
  return (await readJson<ManifestReceipt>(context.store, keys.manifestReceipt(game, sha256), undefined, MAX_RECEIPT_BYTES))?.value;
}

export async function readArchiveReceipt(context: PipelineContext, game: string, sha256: string): Promise<ArchiveReceipt | undefined> {
  return (await readJson<ArchiveReceipt>(context.store, keys.archiveReceipt(game, sha256), undefined, MAX_RECEIPT_BYTES))?.value;
}

/** True when the bytes are still stored: released under content/, or waiting in the private area. */
async function stored(context: PipelineContext, released: string, waiting: string): Promise<boolean> {
  return (await context.store.head(released)) !== undefined || (await context.store.head(waiting)) !== undefined;
}

/**
 * A verified archive whose bytes are still stored (released or waiting), with its manifest. Garbage
 * collection deletes content before receipts, so a receipt alone is not enough.
 */
export async function verifiedArchive(context: PipelineContext, game: string, sha256: string): Promise<ArchiveReceipt | undefined> {
  const receipt = await readArchiveReceipt(context, game, sha256);
  if (!receipt) return undefined;
  const [archive, manifest] = await Promise.all([
    stored(context, keys.archive(game, sha256), keys.verifiedArchive(game, sha256)),
    stored(context, keys.manifest(game, receipt.manifest.sha256), keys.verifiedManifest(game, receipt.manifest.sha256)),
  ]);
  return archive && manifest ? receipt : undefined;
}

/** A verified manifest whose bytes are still stored (see {@link verifiedArchive}). */
export async function verifiedManifest(context: PipelineContext, game: string, sha256: string): Promise<ManifestReceipt | undefined> {
  const receipt = await readManifestReceipt(context, game, sha256);
  if (!receipt) return undefined;
  return (await stored(context, keys.manifest(game, sha256), keys.verifiedManifest(game, sha256))) ? receipt : undefined;
}

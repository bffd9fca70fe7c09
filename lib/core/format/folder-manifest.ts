/**
 * Which file of a loose folder is its manifest: `liveupdate.game.dmanifest` (what bob writes), or
 * else the folder's one `*.dmanifest` file (e.g. `game.dmanifest`, renamed by a build script).
 * `lup validate` and `lup publish` both ask here, so they accept and refuse the same folders.
 */
import { lupError, type LupError } from '../errors';
import { MANIFEST_NAME } from '../keys';

/** The manifest file names a loose folder may hold, as messages name them. */
export const FOLDER_MANIFEST_NAMES = `${MANIFEST_NAME}, or one other *.dmanifest file such as game.dmanifest`;

/**
 * The manifest among a folder's top-level file names, or `ARCHIVE_NO_MANIFEST` naming the folder
 * and the accepted names when it has none, or several and none named {@link MANIFEST_NAME}.
 */
export function findFolderManifest(folder: string, fileNames: readonly string[]): { name: string } | { error: LupError } {
  const manifests = fileNames.filter((n) => n.endsWith('.dmanifest'));
  if (manifests.includes(MANIFEST_NAME)) return { name: MANIFEST_NAME };
  if (manifests.length === 1) return { name: manifests[0] };
  return {
    error: lupError({
      code: 'ARCHIVE_NO_MANIFEST', location: { file: folder },
      expected: `${FOLDER_MANIFEST_NAMES}, in the folder`,
      actual: manifests.length === 0 ? `${fileNames.length} file(s), no *.dmanifest` : `${manifests.length} manifests: ${manifests.join(', ')}`,
      message: manifests.length === 0
        ? `${folder} has no manifest: a loose folder holds the manifest bob wrote (${FOLDER_MANIFEST_NAMES}) beside its hex-named resources.`
        : `${folder} has several manifests (${manifests.join(', ')}) and none is named ${MANIFEST_NAME}; keep only the one bob wrote for this build.`,
    }),
  };
}

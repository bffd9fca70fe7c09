/**
 * What a game's configuration demands of its content, in the form the validation rules take.
 */
import type { KeyObject } from 'node:crypto';
import { parsePublicKey, type GameConfig } from '../config';

/** The checks a manifest and its content must pass besides the format's own rules. */
export interface ValidationPolicy {
  /** `project.title` the manifest's project identifier must be the SHA-1 of. @default - not checked */
  readonly projectTitle?: string;
  /** Key the manifest must be signed with. @default - the signature is reported, not required */
  readonly publicKey?: KeyObject;
  /** With a key configured, accept an empty signature (bob since 2026). @default false */
  readonly allowUnsigned?: boolean;
  /** Engine versions the manifest must list (each as SHA-1 of the version string). @default [] - any */
  readonly supportedEngineVersions?: readonly string[];
  /**
   * The content claims to be complete: every EXCLUDED entry of the manifest must be present.
   * @default true for archives and folders, false for a single resource or manifest
   */
  readonly requireComplete?: boolean;
}

/** The validation policy of a configured game. */
export function policyForGame(game: GameConfig): ValidationPolicy {
  return {
    projectTitle: game.projectTitle,
    publicKey: game.publicKey ? parsePublicKey(game.publicKey) : undefined,
    allowUnsigned: game.allowUnsigned,
    supportedEngineVersions: game.supportedEngineVersions,
  };
}

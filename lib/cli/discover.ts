/**
 * Finding a `lup local` from its S3 endpoint: the stack's gate answers
 * `GET /.well-known/lup-local.json` with its CDN base URL and bucket, so `--endpoint` alone names
 * one stack, CDN included, whatever its ports.
 */
import { DISCOVERY_PATH } from '../local/conditional-gate';
import type { LocalStackDiscovery } from '../local/local-stack';

/** How long to wait for the answer; a local stack answers in milliseconds. */
const DISCOVERY_TIMEOUT_MS = 2_000;

/**
 * The discovery document of the `lup local` at `origin`, or undefined when the endpoint is not a
 * `lup local` (another S3, an older lup, nothing listening).
 */
export async function discoverLocalStack(origin: string): Promise<LocalStackDiscovery | undefined> {
  try {
    const response = await fetch(`${origin}${DISCOVERY_PATH}`, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const document = (await response.json()) as Partial<LocalStackDiscovery>;
    if (document.service !== 'lup-local' || typeof document.cdnBaseUrl !== 'string' || typeof document.bucket !== 'string') return undefined;
    return document as LocalStackDiscovery;
  } catch {
    return undefined;
  }
}

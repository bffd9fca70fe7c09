/**
 * ListObjectsV2 as the gate answers it from s3rver's ListObjects (v1) pages: s3rver 3.7 builds its
 * own continuation tokens with DES, which the OpenSSL 3 of Node 17+ no longer offers, so the gate
 * keeps its own opaque token (the last key of the previous page) and rewrites each page.
 */

const TOKEN_PREFIX = 'lup1.';
const XML_ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };
const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (m) => XML_ENTITIES[m]);
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The gate's continuation token: the last key of the previous page, opaque to clients. */
export function encodeListToken(lastKey: string): string {
  return TOKEN_PREFIX + Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function decodeListToken(token: string): string | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const key = Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8');
  return key.length > 0 ? key : undefined;
}

/** Keep the first `maxKeys` objects of a ListObjects (v1) answer (a trimmed page is truncated) and report `maxKeys`. */
export function trimListPage(xml: string, maxKeys: number): string {
  const contents = xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? [];
  if (contents.length <= maxKeys) return xml.replace(/<MaxKeys>\d+<\/MaxKeys>/, `<MaxKeys>${maxKeys}</MaxKeys>`);
  let seen = 0;
  return xml
    .replace(/<Contents>[\s\S]*?<\/Contents>/g, (m) => (++seen <= maxKeys ? m : ''))
    .replace(/<IsTruncated>false<\/IsTruncated>/, '<IsTruncated>true</IsTruncated>')
    .replace(/<MaxKeys>\d+<\/MaxKeys>/, `<MaxKeys>${maxKeys}</MaxKeys>`);
}

/** Rewrite s3rver's ListObjects (v1) answer into the ListObjectsV2 shape. */
export function listV1ToV2(xml: string, token: string | null, startAfter: string | null): string {
  const contents = xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? [];
  const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
  const lastKey = contents.length > 0 ? /<Key>([\s\S]*?)<\/Key>/.exec(contents[contents.length - 1])?.[1] : undefined;
  let added = `<KeyCount>${contents.length}</KeyCount>`;
  if (token !== null) added += `<ContinuationToken>${escapeXml(token)}</ContinuationToken>`;
  if (startAfter) added += `<StartAfter>${escapeXml(startAfter)}</StartAfter>`;
  if (truncated && lastKey !== undefined) added += `<NextContinuationToken>${encodeListToken(unescapeXml(lastKey))}</NextContinuationToken>`;
  return xml
    .replace(/<Marker>[\s\S]*?<\/Marker>|<Marker\/>/, '')
    .replace(/<NextMarker>[\s\S]*?<\/NextMarker>/, '')
    .replace(/(<ListBucketResult[^>]*>)/, `$1${added}`);
}

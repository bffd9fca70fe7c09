/**
 * Entity tags compare as S3 compares them: without their quotes and without a weak prefix, so an
 * ETag given bare (`abc`) equals the quoted one S3 returns (`"abc"`).
 */
export function sameEtag(a: string, b: string): boolean {
  const bare = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return bare(a) === bare(b);
}

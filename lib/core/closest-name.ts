/**
 * "Did you mean …?": the name closest to a mistyped one, for a misspelt flag (`--chanel`) and for
 * a channel that does not exist (`stabel`). One edit-distance rule for both.
 */

/** Levenshtein distance: the single-character insertions, deletions and substitutions from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/**
 * The candidate closest to `name`, at most `maxDistance` edits away (the first of equals, in the
 * candidates' order), or undefined when none is that close.
 * @default maxDistance 2: catches a swapped or dropped letter, not a different word
 */
export function closestName(name: string, candidates: readonly string[], maxDistance = 2): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(candidate, name);
    if (distance <= maxDistance && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/**
 * "Did you mean" for misspelt keys, flags and names. Case, `_` and `-` are ignored
 * first (so `preFork` and `pre-fork` both find `pre_fork`); otherwise the closest
 * candidate within an edit distance of about a third of its length wins.
 */
export function suggest(input: string, candidates: Iterable<string>): string | undefined {
  const normal = normalize(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const other = normalize(candidate);
    if (other === normal) return candidate;
    const distance = editDistance(normal, other);
    const limit = Math.max(1, Math.floor(other.length / 3));
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** ` (did you mean "workers"?)` or an empty string. */
export function didYouMean(input: string, candidates: Iterable<string>, quote = (s: string) => JSON.stringify(s)): string {
  const match = suggest(input, candidates);
  return match === undefined ? '' : ` (did you mean ${quote(match)}?)`;
}

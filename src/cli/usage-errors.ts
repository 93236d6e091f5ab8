/**
 * yargs' "Invalid values:" message keeps what was wrong on its following lines; the CLI prints one
 * line. This folds them into it: the option, the value given, the allowed values, and the nearest
 * allowed value when the given one is a near miss.
 */

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The allowed value closest to `given` when it is a near miss (a prefix, or at most a third of its letters off). */
export function nearest(given: string, choices: string[]): string | undefined {
  const g = given.toLowerCase();
  const prefixed = choices.filter((c) => g.length > 0 && c.startsWith(g));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of choices) {
    const d = editDistance(g, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** One line for yargs' "Invalid values:" message (unchanged if it is another message). */
export function choiceLine(msg: string): string {
  const lines = msg.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines[0] !== 'Invalid values:' || lines.length < 2) return msg;
  const parts = lines.slice(1).map((l) => {
    const m = /^Argument: ([^,]+), Given: (.*), Choices: (.*)$/.exec(l);
    if (!m) return l;
    const unquote = (s: string): string => s.trim().replace(/^"(.*)"$/, '$1');
    const given = m[2]!.split(/",\s*"/).map(unquote).join(', ');
    const choices = m[3]!.split(/,\s*(?=")/).map(unquote);
    const near = nearest(given, choices);
    return `--${m[1]} ${given === '' ? 'needs a value' : `'${given}' is not allowed`}: expected one of ${choices.join(', ')}${near && given !== '' ? ` (did you mean '${near}'?)` : ''}`;
  });
  return parts.join('; ');
}

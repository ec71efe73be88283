/** `1 worker`, `2 workers`: a count and its noun, for messages. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `1 worker`, `2 workers`: a count and its noun, for messages. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * Characters that move the cursor, restyle or retitle a terminal, or break or reorder a
 * line: C0 and C1 controls, DEL, the line and paragraph separators, bidirectional overrides.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');

/** One control character as an escape: `\n`, `\u001b`, `\u009b`. */
function escapeControl(char: string): string {
  const json = JSON.stringify(char);
  return json.length > 3 ? json.slice(1, -1) : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Whether `text` holds a control character (see CONTROL). */
export function hasControls(text: string): boolean {
  return CONTROL.test(text);
}

/** `text` as a JSON string literal in which every control character is escaped (JSON itself leaves C1, DEL and the separators as they are). */
export function quote(text: string): string {
  return JSON.stringify(text).replace(CONTROLS, escapeControl);
}

/** Control characters in one-line text from the system (an error message that names a path) written as escapes, so the line stays one line. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, escapeControl);
}

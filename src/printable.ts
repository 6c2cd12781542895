/** C0 controls but tab and newline, DEL, and C1 controls: what a terminal would act on. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const CONTROL_OR_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/**
 * Text for the terminal with every control character shown as an escape (`\x1b`, `\x00`):
 * names and bytes read from a file may hold ESC, BEL or NUL, and none of them must reach the
 * terminal raw. Newlines are kept when `multiline`, escaped otherwise.
 */
export function printable(text: string, multiline = false): string {
  return text.replace(multiline ? CONTROL : CONTROL_OR_NEWLINE, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

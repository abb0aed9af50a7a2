/**
 * Line model for the local lazy-edit merger: the original file as lines that keep their own
 * terminators (so CRLF, LF and a missing final newline survive the merge), and which lines are too
 * generic to anchor a snippet on.
 */

/** The original file, line by line. */
export interface SourceLines {
  /** The lines, without terminators. */
  readonly lines: readonly string[];
  /** Each line's own terminator: `'\n'`, `'\r\n'`, or `''` for a last line without one. */
  readonly endings: readonly string[];
  /** The terminator a new line gets: the one most lines of the original use (LF on a tie). */
  readonly eol: '\n' | '\r\n';
  /** Whether the file ends with a line break. */
  readonly finalNewline: boolean;
}

/** A line of the merged output: its text, and its original terminator if it is an original line. */
export interface LinePiece {
  readonly text: string;
  readonly ending?: string;
}

/** Splits a file into lines, remembering each line's terminator. An empty file has no lines. */
export function splitSource(text: string): SourceLines {
  const lines: string[] = [];
  const endings: string[] = [];
  let crlf = 0;
  let lf = 0;
  let start = 0;
  for (const match of text.matchAll(/\r?\n/g)) {
    lines.push(text.slice(start, match.index));
    endings.push(match[0]);
    if (match[0] === '\r\n') crlf += 1;
    else lf += 1;
    start = match.index + match[0].length;
  }
  if (start < text.length) {
    lines.push(text.slice(start));
    endings.push('');
  }
  return {
    lines,
    endings,
    eol: crlf > lf ? '\r\n' : '\n',
    finalNewline: start === text.length && start > 0,
  };
}

/** Splits a snippet into lines (LF or CRLF); a final line break ends the last line. */
export function splitSnippet(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Joins output lines: every line but the last ends with its own terminator (or `eol`), the last
 * one only when the original ended with a line break.
 */
export function joinLines(
  pieces: readonly LinePiece[],
  eol: string,
  finalNewline: boolean,
): string {
  let text = '';
  pieces.forEach((piece, index) => {
    const ending = piece.ending || eol;
    text += piece.text;
    if (index < pieces.length - 1 || finalNewline) text += ending;
  });
  return text;
}

/** Leading spaces and tabs. */
export const indentOf = (line: string): string => /^[ \t]*/.exec(line)?.[0] ?? '';

export const isBlank = (line: string): boolean => line.trim() === '';

/** Words that carry no identity on their own: a line made only of these (and punctuation) is weak. */
const WEAK_WORDS = new Set([
  'begin',
  'break',
  'catch',
  'continue',
  'default',
  'do',
  'done',
  'else',
  'end',
  'endfor',
  'endif',
  'endwhile',
  'esac',
  'false',
  'fi',
  'finally',
  'nil',
  'none',
  'null',
  'pass',
  'return',
  'self',
  'then',
  'this',
  'true',
  'try',
  'undefined',
]);

/**
 * Whether a line is too generic to anchor a snippet even when it occurs once: blank lines, lines of
 * brackets and punctuation (`}`, `});`, `],`, `*\/`), lone closing tags (`</div>`), numbers, and
 * lines whose only words are keywords like `else`, `return`, `break`, `try`, `null`, `true`.
 *
 * @example
 * isWeakLine('  } else {'); // true
 * isWeakLine('    return;'); // true
 * isWeakLine('    return_policy: item.return_policy,'); // false
 */
export function isWeakLine(line: string): boolean {
  const text = line.trim();
  if (text === '') return true;
  if (/^<\/[\w.:-]+>$/u.test(text)) return true;
  const words = text.match(/[\p{L}\p{N}_$]+/gu) ?? [];
  return words.every((word) => WEAK_WORDS.has(word.toLowerCase()) || /^\d+$/u.test(word));
}

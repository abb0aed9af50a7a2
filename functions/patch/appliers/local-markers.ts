/**
 * The lazy-edit markers the local merger splits a snippet on, and a looser detector for text that
 * only looks like one.
 *
 * A **marker line** is, after optional indentation and before optional trailing whitespace, one
 * comment holding nothing but a marker body:
 *
 * ```text
 * marker  = "//" body | "#" body | "--" body
 *         | "/*" body "*\/" | "<!--" body "-->" | "{/*" body "*\/}"
 * body    = ellipsis phrase [ellipsis]            (spaces allowed between the parts)
 * ellipsis= "..." | "…"
 * phrase  = lead noun [" here" | " unchanged" | " omitted"]
 * lead    = "existing" | "unchanged" | "remaining" | "rest of" ["the"] | "other" | "previous"
 * noun    = "code" | "lines" | "content" | "file" | "methods" | "functions" | "imports"
 *         | "fields" | "properties" | "keys" | "items" | "entries" | "tests" | "config"
 * ```
 *
 * Case does not matter. `// ... existing code ...`, `# …existing code…`, `/* ... rest of the file
 * ... *\/` and `<!-- ... existing code here -->` are markers; `// ...`, `// existing code` and
 * `foo(); // ... existing code ...` are not (they fall to {@link looksLikeLazyMarker}).
 */

const ELLIPSIS = String.raw`(?:\.{3}|…)`;
const LEAD = String.raw`(?:existing|unchanged|remaining|rest\s+of(?:\s+the)?|other|previous)`;
const NOUN =
  '(?:code|lines|content|file|methods|functions|imports|fields|properties|keys|items|entries|tests|config)';
const BODY = String.raw`${ELLIPSIS}\s*${LEAD}\s+${NOUN}(?:\s+(?:here|unchanged|omitted))?(?:\s*${ELLIPSIS})?`;

const MARKER = new RegExp(
  String.raw`^\s*(?:(?:\/\/|#|--)\s*${BODY}|\/\*\s*${BODY}\s*\*\/|<!--\s*${BODY}\s*-->|\{\s*\/\*\s*${BODY}\s*\*\/\s*\})\s*$`,
  'iu',
);

/**
 * Marker-ish text: a comment opener directly followed by an ellipsis (`// ...`, `# … keep`,
 * `/* ... *\/`), or an ellipsis next to "existing / unchanged / remaining code" anywhere on the line.
 */
const MARKER_LIKE = new RegExp(
  String.raw`(?:\/\/|#|\/\*|<!--|--)\s*${ELLIPSIS}|${ELLIPSIS}\s*(?:existing|unchanged|remaining|rest\s+of)\b|\b(?:existing|unchanged|remaining)\s+code\s*${ELLIPSIS}`,
  'iu',
);

/**
 * Whether a snippet line is a lazy-edit marker standing for unchanged code (the grammar above).
 *
 * @example
 * isLazyMarker('    // ... existing code ...'); // true
 * isLazyMarker('# … rest of the file …'); // true
 * isLazyMarker('// ...'); // false: too vague to split on, and refused if it reaches the output
 */
export function isLazyMarker(line: string): boolean {
  return MARKER.test(line);
}

/**
 * Whether a line looks like a marker, strict or not. A line of the merged output that came from the
 * snippet and looks like this is refused as `marker-in-output`: it is almost always a marker the
 * grammar did not accept, which would otherwise land in the file as a comment.
 */
export function looksLikeLazyMarker(line: string): boolean {
  return MARKER.test(line) || MARKER_LIKE.test(line);
}

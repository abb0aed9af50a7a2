/** A value as indented JSON, cut after `maxChars` so one huge body cannot flood the page. */
export function JsonBlock({ value, maxChars = 1_200 }: { value: unknown; maxChars?: number }) {
  const text = JSON.stringify(value, null, 2) ?? String(value);
  const cut = text.length > maxChars;
  return (
    <pre className="max-h-64 overflow-auto rounded-md bg-slate-950/80 p-2 font-mono text-xs text-slate-300">
      {cut ? `${text.slice(0, maxChars)}\n… (${text.length - maxChars} more characters)` : text}
    </pre>
  );
}

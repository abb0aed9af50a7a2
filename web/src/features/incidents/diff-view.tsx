import { html } from 'diff2html';
import { ColorSchemeType } from 'diff2html/lib/types.js';
import { useMemo, useState } from 'react';
import 'diff2html/bundles/css/diff2html.min.css';

type Layout = 'line-by-line' | 'side-by-side';

const LAYOUTS: readonly { value: Layout; label: string }[] = [
  { value: 'line-by-line', label: 'Unified' },
  { value: 'side-by-side', label: 'Side by side' },
];

/**
 * Drops what follows a tab on the `---`/`+++` lines (`a/file.ts\tR2`): release labels, not
 * part of the path diff2html shows as the file name.
 */
export function cleanFileHeaders(diff: string): string {
  return diff.replace(/^(---|\+\+\+) ([^\t\n]+)\t[^\n]*$/gm, '$1 $2');
}

/**
 * A unified diff rendered by diff2html, unified or side by side. The figure is named by
 * `label` (`Patch diff` by default), so the added lines can be found inside it as text.
 */
export function DiffView({ diff, label = 'Patch diff' }: { diff: string; label?: string }) {
  const [layout, setLayout] = useState<Layout>('line-by-line');
  const rendered = useMemo(
    () =>
      html(cleanFileHeaders(diff), {
        outputFormat: layout,
        drawFileList: false,
        matching: 'lines',
        colorScheme: ColorSchemeType.DARK,
      }),
    [diff, layout],
  );

  return (
    <figure aria-label={label} className="flex min-w-0 flex-col gap-2">
      <fieldset className="flex gap-1 self-end text-xs">
        <legend className="sr-only">{label} layout</legend>
        {LAYOUTS.map(({ value, label: text }) => (
          <button
            key={value}
            type="button"
            aria-pressed={layout === value}
            onClick={() => setLayout(value)}
            className={`rounded-md border px-2 py-1 ${
              layout === value
                ? 'border-sky-600 bg-sky-950 text-sky-200'
                : 'border-slate-700 text-slate-300 hover:bg-slate-800'
            }`}
          >
            {text}
          </button>
        ))}
      </fieldset>
      <div
        className="diff-view overflow-x-auto rounded-lg text-xs"
        // biome-ignore lint/security/noDangerouslySetInnerHtml: diff2html escapes every line of the diff it renders; the markup is its own.
        dangerouslySetInnerHTML={{ __html: rendered }}
      />
    </figure>
  );
}

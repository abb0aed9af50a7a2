/**
 * The Applier port: merges an update snippet (Morph's lazy-edit form: the changed lines with
 * `// ... existing code ...` markers standing for unchanged regions) into the original file.
 * Two adapters: the Morph Apply API and our deterministic local merger. A refusal is a value
 * with a reason code, never a guess and never an exception.
 */
export interface ApplyRequest {
  /** What the edit does, in one sentence (Morph's `<instruction>`). */
  readonly instruction: string;
  /** The whole original file. */
  readonly original: string;
  /** The update snippet with lazy markers. */
  readonly snippet: string;
  /** Repository-relative path, for messages and language hints. */
  readonly path: string;
}

export type ApplierName = 'morph' | 'local';

export type ApplyResult =
  | {
      readonly ok: true;
      readonly applier: ApplierName;
      /** The whole merged file. */
      readonly merged: string;
      readonly duration_ms: number;
    }
  | {
      readonly ok: false;
      readonly applier: ApplierName;
      /** A stable reason code (e.g. `ambiguous-anchor`, `http-401`, `timeout`). */
      readonly reason: string;
      readonly message: string;
      readonly duration_ms: number;
    };

export interface Applier {
  readonly name: ApplierName;
  apply(request: ApplyRequest): Promise<ApplyResult>;
}

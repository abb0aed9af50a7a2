import type { Applier, ApplyRequest, ApplyResult } from '../applier.js';
import { type LazyMergeOptions, mergeLazyEdit } from './local-merge.js';

export {
  DEFAULT_MAX_NET_DELETIONS,
  type LazyMergeOptions,
  type LazyMergeResult,
  LOCAL_MERGE_REASONS,
  type LocalMergeReason,
  mergeLazyEdit,
} from './local-merge.js';

/**
 * The offline Applier: merges Morph's lazy-edit snippets with the deterministic
 * {@link mergeLazyEdit}, so a patch can still land when the Morph API is unreachable, and refuses
 * (with the merger's reason code) whatever it cannot place for certain. The instruction is not
 * read: the merge depends on the original and the snippet only.
 *
 * @example
 * const result = await new LocalApplier().apply({ instruction, original, snippet, path });
 * if (!result.ok) console.warn(result.reason, result.message);
 */
export class LocalApplier implements Applier {
  readonly name = 'local' as const;
  readonly #options: LazyMergeOptions;

  constructor(options: LazyMergeOptions = {}) {
    this.#options = { ...options };
  }

  async apply(request: ApplyRequest): Promise<ApplyResult> {
    const started = performance.now();
    const result = mergeLazyEdit(request.original, request.snippet, this.#options);
    const duration_ms = performance.now() - started;
    if (result.ok) return { ok: true, applier: this.name, merged: result.merged, duration_ms };
    return {
      ok: false,
      applier: this.name,
      reason: result.reason,
      message: `${request.path}: ${result.message}`,
      duration_ms,
    };
  }
}

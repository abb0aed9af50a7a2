import { z } from 'zod';
import type { ReturnPolicyType } from './catalog.js';
import { type RecordIssue, validateRecord } from './contract.js';
import type { Order } from './orders.js';

/** Body of `POST /shop/returns/eligibility`. */
export const EligibilityRequestSchema = z.object({
  order_id: z.string().min(1),
  sku: z.string().min(1),
});
export type EligibilityRequest = z.infer<typeof EligibilityRequestSchema>;

/** Why an item is or is not returnable. */
export const EligibilityReasonSchema = z.enum([
  'within_return_window',
  'return_window_expired',
  'final_sale',
]);
export type EligibilityReason = z.infer<typeof EligibilityReasonSchema>;

/** The 200 answer of `POST /shop/returns/eligibility`; probes check responses against it. */
export const EligibilityResponseSchema = z.object({
  eligible: z.boolean(),
  reason: EligibilityReasonSchema,
  window_days: z.number().int().nonnegative(),
});
export type EligibilityResponse = z.infer<typeof EligibilityResponseSchema>;

/**
 * The outcome of an eligibility check. Every failure is a value:
 * - `SchemaMismatch`: the stored product record breaks the contract (the caller answers 5xx and
 *   publishes a signal); `field` is the first field at fault;
 * - `ProductNotFound`, `OrderNotFound`, `ItemNotInOrder`: the request names something unknown.
 */
export type EligibilityResult =
  | ({ readonly ok: true } & EligibilityResponse)
  | {
      readonly ok: false;
      readonly kind: 'SchemaMismatch';
      readonly sku: string;
      readonly field: string;
      readonly issues: readonly RecordIssue[];
    }
  | { readonly ok: false; readonly kind: 'ProductNotFound'; readonly sku: string }
  | { readonly ok: false; readonly kind: 'OrderNotFound'; readonly order_id: string }
  | {
      readonly ok: false;
      readonly kind: 'ItemNotInOrder';
      readonly order_id: string;
      readonly sku: string;
    };

export interface EligibilityInput {
  readonly request: EligibilityRequest;
  /** The stored product record as read, of any shape; `undefined` when there is none. */
  readonly record: unknown;
  /** The order named by the request; `undefined` when there is none. */
  readonly order: Order | undefined;
  readonly now: Date;
}

const DAY_MS = 86_400_000;

/**
 * `CheckReturnEligibility`: validates the stored record against the product contract first, then
 * decides. A final-sale item is never returnable; any other item is returnable until
 * `window_days` whole days after the order was placed (inclusive).
 *
 * @example
 * ```ts
 * const result = checkReturnEligibility({ request, record, order, now: new Date() });
 * if (result.ok) result.eligible;
 * ```
 */
export function checkReturnEligibility(input: EligibilityInput): EligibilityResult {
  const { request, record, order, now } = input;
  if (record === undefined) return { ok: false, kind: 'ProductNotFound', sku: request.sku };

  const validation = validateRecord(record);
  if (!validation.ok) {
    return {
      ok: false,
      kind: 'SchemaMismatch',
      sku: request.sku,
      field: validation.issues[0]?.field ?? '',
      issues: validation.issues,
    };
  }

  if (!order) return { ok: false, kind: 'OrderNotFound', order_id: request.order_id };
  if (!order.items.some((item) => item.sku === request.sku)) {
    return { ok: false, kind: 'ItemNotInOrder', order_id: request.order_id, sku: request.sku };
  }

  const policy = validation.record.return_policy;
  return { ok: true, ...decide(policy.type, policy.window_days, order.placed_at, now) };
}

function decide(
  type: ReturnPolicyType,
  windowDays: number,
  placedAt: string,
  now: Date,
): EligibilityResponse {
  if (type === 'final_sale')
    return { eligible: false, reason: 'final_sale', window_days: windowDays };
  const deadline = new Date(placedAt).getTime() + windowDays * DAY_MS;
  return now.getTime() <= deadline
    ? { eligible: true, reason: 'within_return_window', window_days: windowDays }
    : { eligible: false, reason: 'return_window_expired', window_days: windowDays };
}

/** An HTTP answer: status and JSON body. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * Maps an eligibility result to the HTTP answer, in one place so the route, the probes and the
 * smoke cases agree. A SchemaMismatch is a 500 naming the field and paths, without the stored
 * values (those travel in the signal, not to clients).
 */
export function eligibilityAnswer(result: EligibilityResult): HttpAnswer {
  if (result.ok) {
    const { ok: _ok, ...body } = result;
    return { status: 200, body };
  }
  switch (result.kind) {
    case 'SchemaMismatch':
      return {
        status: 500,
        body: {
          error: 'SchemaMismatch',
          sku: result.sku,
          field: result.field,
          issues: result.issues.map(({ field, path, message }) => ({ field, path, message })),
        },
      };
    case 'ProductNotFound':
      return { status: 404, body: { error: 'ProductNotFound', sku: result.sku } };
    case 'OrderNotFound':
      return { status: 404, body: { error: 'OrderNotFound', order_id: result.order_id } };
    case 'ItemNotInOrder':
      return {
        status: 404,
        body: { error: 'ItemNotInOrder', order_id: result.order_id, sku: result.sku },
      };
  }
}

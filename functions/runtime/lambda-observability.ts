import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { telemetry } from '../../infra/telemetry.js';
import type { LambdaContextLike } from '../stream/lambda-streaming.js';
import type { PollerLogger } from './poller.js';

/**
 * Powertools for the Lambda entries (`infra/aws/handlers/`) only: structured logs with the
 * Lambda context, metrics in embedded metric format under the `SelfHeal` namespace, and X-Ray
 * traces. The local runtime never loads this module; it keeps its pino logger and no metrics.
 */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

export interface ObservabilityOptions {
  /** Dimensions on every metric besides `service` (a poller's `stage`). */
  readonly dimensions?: Readonly<Record<string, string>>;
}

/** One logger, metrics and tracer for a Lambda entry, created at module scope. */
export function createObservability(options: ObservabilityOptions = {}): Observability {
  const metrics = new Metrics({ namespace: telemetry.namespace, serviceName: telemetry.service });
  if (options.dimensions) metrics.setDefaultDimensions({ ...options.dimensions });
  return {
    logger: new Logger({ serviceName: telemetry.service }),
    metrics,
    tracer: new Tracer({ serviceName: telemetry.service }),
  };
}

/**
 * Wraps a Lambda handler with Powertools' middy middlewares: the tracer's segment, the Lambda
 * context on every log line, and (unless `metrics: false`) the metrics flushed, with a cold-start
 * metric, after each invocation.
 *
 * @example
 * export const handler = observe(obs, async (event, context) => poll(context));
 */
export function observe<E, R>(
  observability: Observability,
  handler: (event: E, context: LambdaContextLike) => Promise<R>,
  options: { readonly metrics?: boolean } = {},
) {
  const chain = middy<E, R>()
    .use(captureLambdaHandler(observability.tracer, { captureResponse: false }))
    .use(injectLambdaContext(observability.logger));
  // HTTP entries publish no metrics of their own (Lambda's and the Function URL's suffice), so
  // they skip the flush that would warn about an empty metric set on every request.
  if (options.metrics ?? true) {
    chain.use(logMetrics(observability.metrics, { captureColdStartMetric: true }));
  }
  return chain.handler((event, context) => handler(event, context as unknown as LambdaContextLike));
}

/** The poller's logging interface (pino's argument order) over a Powertools logger. */
export function pollerLoggerOf(logger: Logger): PollerLogger {
  return {
    info: (fields, message) => logger.info(message, fields),
    warn: (fields, message) => logger.warn(message, fields),
    error: (fields, message) => logger.error(message, fields),
  };
}

/** Adds a count metric (skipped when zero, except for gauges that must report their zero). */
export function addCount(metrics: Metrics, name: string, value: number, always = false): void {
  if (value > 0 || always) metrics.addMetric(name, MetricUnit.Count, value);
}

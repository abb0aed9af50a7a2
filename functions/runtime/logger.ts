import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * A JSON-lines logger. One root per process; stages and adapters take children with a
 * `component` binding so every line says where it came from.
 */
export const createLogger = (level = process.env.LOG_LEVEL ?? 'info'): Logger =>
  pino({
    level,
    base: { service: 'selfheal' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });

import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { getPorts } from '../runtime/ports.js';
import { parseStreamSettings } from './settings.js';
import { createTraceStream } from './sse-handler.js';

/**
 * Lambda entry of `GET /api/stream` (a Function URL with `InvokeMode: RESPONSE_STREAM`): the
 * live trace stream as server-sent events. Settings come from `SELFHEAL_SSE_*`; the ports are
 * built from the environment on the first request.
 */
export const handler = createTraceStream({
  resources: async () => {
    const ports = await getPorts(buildPortsFromEnv);
    return { bus: ports.bus, logger: ports.logger.child({ component: 'stream' }) };
  },
  settings: parseStreamSettings(),
}).handler;

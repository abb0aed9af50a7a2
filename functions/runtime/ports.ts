import type { Policy } from '../guard/policy.js';
import type { Bus } from '../ports/bus.js';
import type { KeyValue } from '../ports/kv.js';
import type { TraceStore } from '../ports/trace-store.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import type { Backends, Config } from './config.js';
import type { Idempotency } from './idempotency.js';
import type { Logger } from './logger.js';

/** Table names the system uses, resolved from the configured prefix. */
export interface Tables {
  readonly idempotency: string;
  readonly snapshots: string;
  readonly kv: string;
}

/**
 * Everything a stage handler needs from the outside world, built once per process (at module
 * scope in Lambda, by `infra/local` in the embedded runtime) and passed into the cores.
 */
export interface Ports {
  readonly config: Config;
  readonly backends: Backends;
  readonly logger: Logger;
  readonly bus: Bus;
  readonly store: TraceStore;
  readonly kv: KeyValue;
  readonly idempotency: Idempotency;
  readonly tables: Tables;
  /** The healing policy, validated when the ports were built. */
  readonly policy: Policy;
  /** The target being watched and healed, when this process runs one. */
  readonly target: TargetRuntime | undefined;
  /** Closes every connection and stops embedded servers. */
  close(): Promise<void>;
}

let provided: Promise<Ports> | undefined;

/**
 * Installs the ports for this process. The local runtime calls it before loading handlers, so
 * every stage shares one bus, store and key-value client.
 */
export const providePorts = (ports: Ports | Promise<Ports>): void => {
  provided = Promise.resolve(ports);
};

/** Forgets the installed ports (tests and shutdown). */
export const resetPorts = (): void => {
  provided = undefined;
};

/**
 * The ports of this process. When nothing was provided (a Lambda cold start) they are built
 * from the environment by `factory` once, and reused by every invocation after.
 */
export const getPorts = (factory?: () => Promise<Ports>): Promise<Ports> => {
  if (!provided) {
    if (!factory) throw new Error('ports were not provided and no factory was given');
    provided = factory();
  }
  return provided;
};

import type { TargetRuntime } from '../target/target-runtime.js';
import type { Ports } from './ports.js';

/** Thrown when a stage that needs a target runs in a process that has none. */
export class NoTargetError extends Error {
  override readonly name = 'NoTargetError';
  constructor(stage: string) {
    super(`stage ${stage} needs a target, and this process runs none`);
  }
}

/** The target of this process, or a clear error naming the stage that needed it. */
export const requireTarget = (ports: Ports, stage: string): TargetRuntime => {
  if (!ports.target) throw new NoTargetError(stage);
  return ports.target;
};

/** Where the target's API answers: `SELFHEAL_TARGET_URL`, or this process's own server. */
export const targetBaseUrl = (ports: Pick<Ports, 'config'>): string =>
  ports.config.SELFHEAL_TARGET_URL ?? `http://${ports.config.HOST}:${ports.config.PORT}`;

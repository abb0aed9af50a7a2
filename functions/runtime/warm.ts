import { sharedTypeChecker } from '../guard/typecheck.js';
import { warmMapperTypes } from '../patch/template-helpers.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import { sandboxHarnessOf, sandboxOptionsOf } from '../verify/core.js';
import { warmSandbox } from '../verify/sandbox/run-sandbox.js';
import type { Ports } from './ports.js';

/**
 * Prepares the healing path before the first fault: the patch templates' and the guard's type
 * checkers parse the target's types once, the verification sandbox's harness is bundled and a
 * sandbox child is started and waiting, so the first heal runs as fast as the later ones.
 */
export async function warmHealingPath(ports: Ports, target: TargetRuntime): Promise<void> {
  const active = target.deployer.active()?.release;
  if (active) {
    warmMapperTypes({
      source: active.source,
      fileName: target.manifest.mapper.file,
      repoRoot: target.repoRoot,
    });
  }
  await Promise.all([
    active
      ? sharedTypeChecker(target.repoRoot).warm(target.manifest.mapper.file, active.source)
      : undefined,
    sandboxHarnessOf(ports, target).then((harness) =>
      warmSandbox({ ...sandboxOptionsOf(ports), harness }),
    ),
  ]);
}

/**
 * `npm run deploy [-- <cdk options>]`: builds the dashboard, deploys every stack in dependency
 * order (network, data, demo shop, pipeline, web, operations) with `cdk deploy --all`, writes the
 * outputs to `cdk-outputs.json` and prints the dashboard URL, the webhook URLs and the secrets to
 * fill in. Options after `--` go to `cdk deploy` (`-c demoShop=true`, `--profile dev`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describeOutputs } from './print-outputs.js';

const OUTPUTS_FILE = 'cdk-outputs.json';

const run = (command: string, args: readonly string[]): void => {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    shell: process.platform === 'win32',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build:web']);
const cdk = createRequire(import.meta.url).resolve('aws-cdk/bin/cdk');
run(process.execPath, [
  cdk,
  'deploy',
  '--all',
  '--no-notices',
  '--outputs-file',
  OUTPUTS_FILE,
  ...process.argv.slice(2),
]);
const outputs = JSON.parse(readFileSync(OUTPUTS_FILE, 'utf8'));
process.stdout.write(`\n${describeOutputs(outputs).join('\n')}\n`);

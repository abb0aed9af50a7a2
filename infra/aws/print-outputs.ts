/**
 * Prints what a deploy produced (`npm run deploy` runs it on the file `cdk deploy
 * --outputs-file` wrote): where the dashboard is, where to point the catalog webhooks, and which
 * secrets to fill in. Reads the file only; it calls no AWS API.
 *
 * Usage: `tsx infra/aws/print-outputs.ts [cdk-outputs.json]`
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STACK_NAMES } from './create-app.js';

type Outputs = Record<string, Record<string, string>>;

/** An output of a stack; CDK may suffix output keys, so the prefix decides. */
const outputOf = (outputs: Outputs, stack: string, key: string): string | undefined => {
  const values = outputs[stack] ?? {};
  const found = Object.keys(values).find((name) => name === key || name.startsWith(key));
  return found === undefined ? undefined : values[found];
};

/** The lines to print for a deploy's outputs. */
export function describeOutputs(outputs: Outputs): string[] {
  const web = (key: string) => outputOf(outputs, STACK_NAMES.web, key);
  const data = (key: string) => outputOf(outputs, STACK_NAMES.data, key);
  const lines = [
    'Self-heal is deployed.',
    '',
    `  Dashboard (CloudFront):     ${web('DashboardUrl') ?? '(not deployed)'}`,
    `  CloudWatch dashboard:       ${outputOf(outputs, STACK_NAMES.operations, 'CloudWatchDashboardUrl') ?? '(not deployed)'}`,
    `  Catalog webhook (Standard): ${web('WebhookUrl') ?? '(not deployed)'}`,
    `  Shopify webhook:            ${web('ShopifyWebhookUrl') ?? '(not deployed)'}`,
  ];
  const shop = outputOf(outputs, STACK_NAMES.demoShop, 'ShopUrl');
  if (shop) lines.push(`  Demo shop:                  ${shop}`);
  lines.push('', 'Secrets to fill in (Secrets Manager; each starts with a generated value):');
  const secrets: Array<[string, string, string]> = [
    ['AdminTokenSecretName', 'admin token', 'any 16+ characters; send as Authorization: Bearer'],
    ['WebhookSecretName', 'Standard Webhooks secret', "the sender's whsec_… secret"],
    ['ShopifyWebhookSecretName', 'Shopify webhook secret', "your Shopify app's API secret"],
    [
      'IntegrationsSecretName',
      'optional API keys',
      'JSON {"morphApiKey":"…","llmApiKey":"…"}; empty keeps them off',
    ],
  ];
  for (const [key, label, hint] of secrets) {
    const name = data(key);
    if (!name) continue;
    lines.push(`  ${label} (${hint}):`);
    lines.push(
      `    aws secretsmanager put-secret-value --secret-id ${name} --secret-string '<value>'`,
    );
  }
  lines.push(
    '',
    'Read a generated value with: aws secretsmanager get-secret-value --secret-id <name> --query SecretString --output text',
    'Functions read secrets at cold start: after changing one, new invocations pick it up within minutes.',
  );
  return lines;
}

// Run as a script (not when a test imports it).
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const outputs = JSON.parse(
    readFileSync(process.argv[2] ?? 'cdk-outputs.json', 'utf8'),
  ) as Outputs;
  process.stdout.write(`${describeOutputs(outputs).join('\n')}\n`);
}

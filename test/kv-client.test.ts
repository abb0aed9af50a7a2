import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createDynamoClients,
  isLocalEndpoint,
  LOCAL_FALLBACK_CREDENTIALS,
  LOCAL_FALLBACK_REGION,
} from '../functions/adapters/kv/dynamodb-client.js';
import {
  type EmbeddedDynalite,
  startDynalite,
} from '../functions/adapters/kv/embedded-dynalite.js';
import { uniqueName } from './support/services.js';

/** Nothing listens on the discard port: a client sent there fails instead of succeeding. */
const DEAD_ENDPOINT = 'http://127.0.0.1:9';

/**
 * Clears every way the SDK could find an endpoint, region or credentials on this machine, so each
 * test states exactly the configuration it means.
 */
function isolateAwsEnvironment(): void {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'aws-config-'));
  for (const name of [
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_DYNAMODB',
    'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
  ]) {
    vi.stubEnv(name, undefined);
  }
  vi.stubEnv('AWS_CONFIG_FILE', path.join(empty, 'config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(empty, 'credentials'));
  // The instance metadata service is the chain's last resort; off, a miss fails at once.
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
}

async function tablesSeenBy(client: DynamoDBClient): Promise<string[]> {
  const { TableNames: names = [] } = await client.send(new ListTablesCommand({}));
  return names;
}

describe('Key-value: DynamoDB client configuration', () => {
  let dynalite: EmbeddedDynalite | undefined;
  /** A table that exists only on this dynalite: seeing it proves which server answered. */
  const marker = uniqueName('endpoint-marker');
  const endpoint = () => {
    if (!dynalite) throw new Error('dynalite not started');
    return dynalite.endpoint;
  };
  const clients: DynamoDBClient[] = [];
  const track = <T extends { client: DynamoDBClient }>(created: T): T => {
    clients.push(created.client);
    return created;
  };

  beforeAll(async () => {
    dynalite = await startDynalite();
    const { client } = createDynamoClients({ endpoint: dynalite.endpoint });
    await client.send(
      new CreateTableCommand({
        TableName: marker,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      }),
    );
    client.destroy();
  });
  beforeEach(isolateAwsEnvironment);
  afterEach(() => {
    vi.unstubAllEnvs();
    for (const client of clients.splice(0)) client.destroy();
  });
  afterAll(async () => {
    if (dynalite) {
      const { client } = createDynamoClients({ endpoint: dynalite.endpoint });
      await client.send(new DeleteTableCommand({ TableName: marker }));
      client.destroy();
    }
    await dynalite?.stop();
  });

  it('talks to the endpoint in AWS_ENDPOINT_URL_DYNAMODB when none is passed', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint());
    // The service-specific variable must win over the global one.
    vi.stubEnv('AWS_ENDPOINT_URL', DEAD_ENDPOINT);
    const { client } = track(createDynamoClients());

    const tables = await tablesSeenBy(client);

    expect(tables).toContain(marker);
  });

  it('falls back to AWS_ENDPOINT_URL when no DynamoDB-specific endpoint is set', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', endpoint());
    const { client } = track(createDynamoClients());

    const tables = await tablesSeenBy(client);

    expect(tables).toContain(marker);
  });

  it('prefers an explicit endpoint over the environment', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', DEAD_ENDPOINT);
    const { client } = track(createDynamoClients({ endpoint: endpoint() }));

    const tables = await tablesSeenBy(client);

    expect(tables).toContain(marker);
  });

  it('reads and writes plain values through the document client', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint());
    const { doc } = track(createDynamoClients());
    const { GetCommand, PutCommand } = await import('@aws-sdk/lib-dynamodb');

    await doc.send(new PutCommand({ TableName: marker, Item: { pk: 'a', n: 1, skip: undefined } }));
    const { Item: item } = await doc.send(new GetCommand({ TableName: marker, Key: { pk: 'a' } }));

    expect(item).toEqual({ pk: 'a', n: 1 });
  });

  it('uses a placeholder region and credentials for a loopback endpoint with none configured', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint());
    const { client } = track(createDynamoClients());

    const region = await client.config.region();
    const credentials = await client.config.credentials();
    const tables = await tablesSeenBy(client);

    expect(region).toBe(LOCAL_FALLBACK_REGION);
    expect(credentials).toMatchObject(LOCAL_FALLBACK_CREDENTIALS);
    expect(tables).toContain(marker);
  });

  it('keeps the configured region and credentials for a loopback endpoint', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint());
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDCONFIGURED');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'configured-secret');
    const { client } = track(createDynamoClients());

    const region = await client.config.region();
    const credentials = await client.config.credentials();

    expect(region).toBe('eu-central-1');
    expect(credentials).toMatchObject({ accessKeyId: 'AKIDCONFIGURED' });
  });

  it('leaves a missing region and missing credentials an error for a remote endpoint', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', 'https://dynamodb.example.com');
    const { client } = track(createDynamoClients());

    await expect(client.config.region()).rejects.toThrow(/region is missing/i);
    await expect(client.config.credentials()).rejects.toThrow(/credentials/i);
  });

  it.each([
    ['http://localhost:8000', true],
    ['http://dynamodb.localhost:8000', true],
    ['http://127.0.0.1:4566', true],
    ['http://127.1.2.3:8000', true],
    ['http://[::1]:8000', true],
    ['https://dynamodb.eu-west-1.amazonaws.com', false],
    ['http://localhost.example.com', false],
    ['http://10.0.0.5:8000', false],
    ['not a url', false],
  ])('classifies %s as loopback: %s', (url, expected) => {
    expect(isLocalEndpoint(url)).toBe(expected);
  });
});

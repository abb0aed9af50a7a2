import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../functions/runtime/config.js';
import {
  extensionSecretFetcher,
  loadSecretsIntoEnv,
  parseSecretBindings,
  resetLoadedSecrets,
  resolveSecrets,
  SECRETS_ENV,
  SecretLoadError,
  valueOfSecret,
} from '../functions/runtime/lambda-secrets.js';

const TOKEN = 'session-token-of-the-role';

/**
 * A local server speaking the protocol of the AWS Parameters and Secrets Lambda Extension:
 * `GET /secretsmanager/get?secretId=…` with the session token in a header, answering the
 * `GetSecretValue` response as JSON.
 */
function startExtension(secrets: Record<string, string>) {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const id = url.searchParams.get('secretId') ?? '';
    requests.push(id);
    if (request.headers['x-aws-parameters-secrets-token'] !== TOKEN) {
      response.writeHead(401).end('missing or wrong token');
      return;
    }
    if (url.pathname !== '/secretsmanager/get' || !(id in secrets)) {
      response.writeHead(400).end(`ResourceNotFoundException: ${id}`);
      return;
    }
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ARN: id, Name: id, SecretString: secrets[id] }));
  });
  return {
    requests,
    listening: new Promise<string>((done) =>
      server.listen(0, '127.0.0.1', () =>
        done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      ),
    ),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

const DB_SECRET = JSON.stringify({
  username: 'selfheal',
  password: 'p@ss:w/rd?',
  host: 'cluster.internal',
  port: 5432,
  dbname: 'selfheal',
  engine: 'postgres',
});

describe('secret bindings', () => {
  it('parses the map the stack writes, and an unset variable as none', () => {
    expect(parseSecretBindings(undefined)).toEqual({});
    expect(parseSecretBindings('')).toEqual({});
    expect(parseSecretBindings(JSON.stringify({ SELFHEAL_ADMIN_TOKEN: { arn: 'arn:a' } }))).toEqual(
      { SELFHEAL_ADMIN_TOKEN: { arn: 'arn:a', format: 'text' } },
    );
  });

  it('says where the map is wrong', () => {
    expect(() => parseSecretBindings('{')).toThrowError(SecretLoadError);
    expect(() => parseSecretBindings(JSON.stringify({ 'bad name': { arn: 'x' } }))).toThrowError(
      /SELFHEAL_SECRETS\.bad name: an environment variable name/,
    );
    expect(() => parseSecretBindings(JSON.stringify({ X: { arn: '' } }))).toThrowError(
      /SELFHEAL_SECRETS\.X\.arn/,
    );
  });

  it('puts the Standard Webhooks prefix in front only when the value lacks it', () => {
    const binding = { arn: 'a', format: 'text' as const, prefix: 'whsec_' };
    expect(valueOfSecret('W', binding, 'c2VjcmV0')).toBe('whsec_c2VjcmV0');
    expect(valueOfSecret('W', binding, 'whsec_c2VjcmV0')).toBe('whsec_c2VjcmV0');
  });

  it('takes one field of a JSON secret, empty included', () => {
    const binding = { arn: 'a', format: 'text' as const, field: 'morphApiKey' };
    expect(valueOfSecret('M', binding, '{"morphApiKey":"k-1","llmApiKey":""}')).toBe('k-1');
    expect(valueOfSecret('M', binding, '{"morphApiKey":""}')).toBe('');
    expect(() => valueOfSecret('M', binding, '{"other":"x"}')).toThrowError(
      /the secret for M has no string field "morphApiKey"/,
    );
  });

  it('builds a verified-TLS Postgres URL through the proxy, escaping the password', () => {
    const url = valueOfSecret(
      'DATABASE_URL',
      { arn: 'a', format: 'postgres-url', host: 'proxy.internal' },
      DB_SECRET,
    );
    expect(url).toBe(
      'postgresql://selfheal:p%40ss%3Aw%2Frd%3F@proxy.internal:5432/selfheal?sslmode=verify-full',
    );
    // The configuration accepts what the loader produces.
    expect(parseConfig({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
    expect(new URL(url).password).toBe('p%40ss%3Aw%2Frd%3F');
  });

  it('fetches each secret once and names the variable it could not fill', async () => {
    const fetched: string[] = [];
    const values = await resolveSecrets(
      parseSecretBindings(
        JSON.stringify({
          MORPH_API_KEY: { arn: 'integrations', field: 'morphApiKey' },
          LLM_API_KEY: { arn: 'integrations', field: 'llmApiKey' },
        }),
      ),
      async (arn) => {
        fetched.push(arn);
        return '{"morphApiKey":"m","llmApiKey":"l"}';
      },
    );
    expect(values).toEqual({ MORPH_API_KEY: 'm', LLM_API_KEY: 'l' });
    expect(fetched).toEqual(['integrations']);

    await expect(
      resolveSecrets({ DATABASE_URL: { arn: 'db', format: 'postgres-url' } }, async () => 'plain'),
    ).rejects.toMatchObject({ name: 'SecretLoadError', variable: 'DATABASE_URL' });
  });
});

describe('the secrets extension', () => {
  const extension = startExtension({
    'arn:admin': 'a-very-long-admin-token',
    'arn:webhook': 'c2VjcmV0LWtleS1vZi1hLXdlYmhvb2s',
    'arn:integrations': '{"morphApiKey":"","llmApiKey":""}',
  });
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await extension.listening;
  });
  afterAll(() => extension.close());
  afterEach(() => resetLoadedSecrets());

  it('answers the secret string with the session token, and refuses without it', async () => {
    expect(await extensionSecretFetcher({ baseUrl, token: TOKEN })('arn:admin')).toBe(
      'a-very-long-admin-token',
    );
    await expect(extensionSecretFetcher({ baseUrl, token: 'wrong' })('arn:admin')).rejects.toThrow(
      /answered 401/,
    );
  });

  it('fills the environment once per cold start, leaving empty optional keys unset', async () => {
    const env: NodeJS.ProcessEnv = {
      [SECRETS_ENV]: JSON.stringify({
        SELFHEAL_ADMIN_TOKEN: { arn: 'arn:admin' },
        SELFHEAL_WEBHOOK_SECRET: { arn: 'arn:webhook', prefix: 'whsec_' },
        MORPH_API_KEY: { arn: 'arn:integrations', field: 'morphApiKey' },
      }),
    };
    const fetcher = extensionSecretFetcher({ baseUrl, token: TOKEN });
    const before = extension.requests.length;
    await loadSecretsIntoEnv(env, fetcher);
    await loadSecretsIntoEnv(env, fetcher);
    expect(extension.requests.length - before).toBe(3);
    expect(env.SELFHEAL_ADMIN_TOKEN).toBe('a-very-long-admin-token');
    expect(env.SELFHEAL_WEBHOOK_SECRET).toBe('whsec_c2VjcmV0LWtleS1vZi1hLXdlYmhvb2s');
    expect(env).not.toHaveProperty('MORPH_API_KEY');
    // What the stages parse afterwards is valid configuration.
    const config = parseConfig(env);
    expect(config.SELFHEAL_WEBHOOK_SECRET).toBe(env.SELFHEAL_WEBHOOK_SECRET);
    expect(config.MORPH_API_KEY).toBeUndefined();
  });

  it('tries again on the next invocation after a failure', async () => {
    const env: NodeJS.ProcessEnv = {
      [SECRETS_ENV]: JSON.stringify({ SELFHEAL_ADMIN_TOKEN: { arn: 'arn:missing' } }),
    };
    const fetcher = extensionSecretFetcher({ baseUrl, token: TOKEN });
    await expect(loadSecretsIntoEnv(env, fetcher)).rejects.toThrow(/answered 400/);
    env[SECRETS_ENV] = JSON.stringify({ SELFHEAL_ADMIN_TOKEN: { arn: 'arn:admin' } });
    await loadSecretsIntoEnv(env, fetcher);
    expect(env.SELFHEAL_ADMIN_TOKEN).toBe('a-very-long-admin-token');
  });
});

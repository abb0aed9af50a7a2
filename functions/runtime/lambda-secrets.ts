import { z } from 'zod';

/**
 * Secrets in Lambda. The stack never puts a secret value into a function's configuration: it sets
 * `SELFHEAL_SECRETS`, a JSON map from the environment variable the configuration reads (for
 * example `SELFHEAL_ADMIN_TOKEN`) to the secret that holds its value, and grants the function
 * read access to exactly those secrets. At cold start the Lambda entry resolves the map through
 * the AWS Parameters and Secrets Lambda Extension (a layer answering on localhost, so no SDK
 * client is bundled) and sets the variables before the configuration is parsed. Rotating a
 * secret needs no redeploy: new cold starts read the new value.
 */

/** The variable that holds the map. */
export const SECRETS_ENV = 'SELFHEAL_SECRETS';

/** One variable filled from one secret. */
export const SecretBindingSchema = z.object({
  /** ARN (or name) of the secret in Secrets Manager. */
  arn: z.string().min(1),
  /**
   * How the secret string becomes the value: `text` takes it as it is (or one `field` of a JSON
   * secret); `postgres-url` builds a connection URL from an RDS secret (`username`, `password`,
   * `port`, `dbname`) and `host`.
   */
  format: z.enum(['text', 'postgres-url']).default('text'),
  /** For `text`: the field of a JSON secret to take. */
  field: z.string().min(1).optional(),
  /** For `text`: put in front of the value unless it already starts with it (`whsec_`). */
  prefix: z.string().min(1).optional(),
  /** For `postgres-url`: the host to connect to (the RDS Proxy endpoint), over the secret's. */
  host: z.string().min(1).optional(),
});
export type SecretBinding = z.infer<typeof SecretBindingSchema>;

export const SecretBindingsSchema = z
  .record(z.string(), SecretBindingSchema)
  .superRefine((bindings, context) => {
    for (const variable of Object.keys(bindings)) {
      if (!/^[A-Z][A-Z0-9_]*$/.test(variable)) {
        context.addIssue({
          code: 'custom',
          path: [variable],
          message: 'an environment variable name',
        });
      }
    }
  });
export type SecretBindings = z.infer<typeof SecretBindingsSchema>;

/** Returns the secret string of a secret. */
export type SecretFetcher = (arn: string) => Promise<string>;

/** A secret binding could not be read or turned into its value. */
export class SecretLoadError extends Error {
  override readonly name = 'SecretLoadError';
  constructor(
    message: string,
    readonly variable: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Parses the map from `SELFHEAL_SECRETS`; an unset or empty variable is an empty map. */
export function parseSecretBindings(raw: string | undefined): SecretBindings {
  if (raw === undefined || raw.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new SecretLoadError(`${SECRETS_ENV} is not JSON`, undefined, { cause: error });
  }
  const parsed = SecretBindingsSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues
      .map((issue) => `${[SECRETS_ENV, ...issue.path.map(String)].join('.')}: ${issue.message}`)
      .join('; ');
    throw new SecretLoadError(`invalid secret bindings: ${where}`, undefined);
  }
  return parsed.data;
}

/**
 * The value a binding gives a secret string.
 *
 * @example
 * valueOfSecret({ arn, format: 'text', prefix: 'whsec_' }, 'c2VjcmV0'); // 'whsec_c2VjcmV0'
 */
export function valueOfSecret(variable: string, binding: SecretBinding, secret: string): string {
  if (binding.format === 'postgres-url') return postgresUrlOf(variable, binding, secret);
  let value = secret;
  if (binding.field !== undefined) {
    value = stringField(variable, jsonOf(variable, secret), binding.field, true);
  }
  if (binding.prefix !== undefined && value !== '' && !value.startsWith(binding.prefix)) {
    value = `${binding.prefix}${value}`;
  }
  return value;
}

/**
 * Resolves every binding with `fetchSecret`, each secret fetched once, and answers the variables
 * to set. Fails with the variable that could not be resolved.
 */
export async function resolveSecrets(
  bindings: SecretBindings,
  fetchSecret: SecretFetcher,
): Promise<Record<string, string>> {
  const fetched = new Map<string, Promise<string>>();
  const entries = await Promise.all(
    Object.entries(bindings).map(async ([variable, binding]) => {
      let secret = fetched.get(binding.arn);
      if (!secret) {
        secret = fetchSecret(binding.arn);
        fetched.set(binding.arn, secret);
      }
      let value: string;
      try {
        value = valueOfSecret(variable, binding, await secret);
      } catch (error) {
        if (error instanceof SecretLoadError) throw error;
        throw new SecretLoadError(`could not read the secret for ${variable}`, variable, {
          cause: error,
        });
      }
      return [variable, value] as const;
    }),
  );
  return Object.fromEntries(entries);
}

export interface ExtensionFetcherOptions {
  /** The extension's port (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`, default 2773). */
  readonly port?: number;
  /** Session token the extension checks (`AWS_SESSION_TOKEN` of the function's role). */
  readonly token?: string;
  /** Base URL over `http://localhost:<port>` (tests point it at their own server). */
  readonly baseUrl?: string;
  readonly fetch?: typeof fetch;
}

/**
 * Reads secrets through the AWS Parameters and Secrets Lambda Extension
 * (`GET /secretsmanager/get?secretId=…` with the `X-Aws-Parameters-Secrets-Token` header).
 */
export function extensionSecretFetcher(options: ExtensionFetcherOptions = {}): SecretFetcher {
  const port = options.port ?? Number(process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? 2773);
  const base = options.baseUrl ?? `http://localhost:${port}`;
  const doFetch = options.fetch ?? fetch;
  return async (arn) => {
    const token = options.token ?? process.env.AWS_SESSION_TOKEN ?? '';
    const url = `${base}/secretsmanager/get?secretId=${encodeURIComponent(arn)}`;
    const response = await doFetch(url, { headers: { 'X-Aws-Parameters-Secrets-Token': token } });
    const text = await response.text();
    if (!response.ok) {
      throw new SecretLoadError(
        `the secrets extension answered ${response.status} for ${arn}: ${text.slice(0, 200)}`,
        undefined,
      );
    }
    const body = jsonOf(arn, text);
    const secret = body.SecretString;
    if (typeof secret !== 'string') {
      throw new SecretLoadError(
        `secret ${arn} has no SecretString (binary secrets are not supported)`,
        undefined,
      );
    }
    return secret;
  };
}

let loaded: Promise<void> | undefined;

/**
 * Resolves `SELFHEAL_SECRETS` into `env` once per process (a Lambda cold start). A failure is
 * not remembered: the next invocation tries again.
 */
export function loadSecretsIntoEnv(
  env: NodeJS.ProcessEnv = process.env,
  fetchSecret: SecretFetcher = extensionSecretFetcher(),
): Promise<void> {
  loaded ??= (async () => {
    const values = await resolveSecrets(parseSecretBindings(env[SECRETS_ENV]), fetchSecret);
    // An empty secret (an optional key nobody filled in) leaves its variable unset.
    for (const [variable, value] of Object.entries(values)) if (value !== '') env[variable] = value;
  })().catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

/** Forgets that secrets were loaded (tests). */
export const resetLoadedSecrets = (): void => {
  loaded = undefined;
};

function postgresUrlOf(variable: string, binding: SecretBinding, secret: string): string {
  const json = jsonOf(variable, secret);
  const username = stringField(variable, json, 'username');
  const password = stringField(variable, json, 'password');
  const host = binding.host ?? stringField(variable, json, 'host');
  const port = json.port === undefined ? '5432' : String(json.port);
  const dbname = typeof json.dbname === 'string' && json.dbname !== '' ? json.dbname : 'postgres';
  const auth = `${encodeURIComponent(username)}:${encodeURIComponent(password)}`;
  // verify-full: TLS with the certificate checked against the host (the proxy's is public).
  return `postgresql://${auth}@${host}:${port}/${encodeURIComponent(dbname)}?sslmode=verify-full`;
}

function jsonOf(variable: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SecretLoadError(`the secret for ${variable} is not JSON`, variable, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SecretLoadError(`the secret for ${variable} is not a JSON object`, variable);
  }
  return value as Record<string, unknown>;
}

function stringField(
  variable: string,
  json: Record<string, unknown>,
  field: string,
  allowEmpty = false,
): string {
  const value = json[field];
  if (typeof value !== 'string' || (value === '' && !allowEmpty)) {
    throw new SecretLoadError(
      `the secret for ${variable} has no string field "${field}"`,
      variable,
    );
  }
  return value;
}

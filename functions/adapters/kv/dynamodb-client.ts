import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoClientOptions {
  /**
   * Overrides the endpoint. Leave it unset in deployed code: the SDK then resolves the endpoint
   * itself from `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL` or the shared config file's
   * `endpoint_url`, and falls back to the regional AWS endpoint.
   */
  readonly endpoint?: string;
  /** Overrides the region; unset, the SDK's chain (`AWS_REGION`, config file, …) decides. */
  readonly region?: string;
}

export interface DynamoClients {
  readonly client: DynamoDBClient;
  /** Document client over `client`: plain JS values in and out, `undefined` attributes dropped. */
  readonly doc: DynamoDBDocumentClient;
}

/** Region used for a loopback endpoint when nothing configures one. */
export const LOCAL_FALLBACK_REGION = 'us-east-1';

/**
 * Credentials used for a loopback endpoint when nothing configures any. dynalite ignores them;
 * DynamoDB Local only uses the access key id to pick a database file (we run it `-sharedDb`).
 */
export const LOCAL_FALLBACK_CREDENTIALS: {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
} = { accessKeyId: 'local', secretAccessKey: 'local' };

/** True when `url` points at this machine (localhost, `*.localhost`, 127.0.0.0/8 or ::1). */
export function isLocalEndpoint(url: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return false;
  }
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    /^127(?:\.\d{1,3}){3}$/.test(hostname) ||
    hostname === '[::1]'
  );
}

/**
 * Builds a DynamoDB client and a document client over it.
 *
 * The endpoint is resolved by the SDK's own configuration chain (SDK v3 reads the
 * service-specific `AWS_ENDPOINT_URL_DYNAMODB`, then `AWS_ENDPOINT_URL`, then `endpoint_url` in
 * the shared config file, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is set), so one build talks
 * to AWS, DynamoDB Local, dynalite or LocalStack depending only on the environment.
 *
 * Region and credentials also come from the SDK's chains. Only when the effective endpoint is a
 * loopback address and a chain finds nothing do we fall back to {@link LOCAL_FALLBACK_REGION} and
 * {@link LOCAL_FALLBACK_CREDENTIALS}: local emulators need *some* signature but verify none, and
 * `npm start` must work on a machine with no AWS setup. For any other endpoint a missing region
 * or missing credentials stays the SDK's error, so a misconfigured deployment fails loudly instead
 * of signing with fake keys.
 *
 * @example
 * ```ts
 * // AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 in the environment, nothing else.
 * const { doc } = createDynamoClients();
 * ```
 */
export function createDynamoClients(options: DynamoClientOptions = {}): DynamoClients {
  // Never sends a request: it only exposes the SDK's default region, credential and configured
  // endpoint providers, so the real client can try them first and fall back for loopback only.
  const sdkDefaults = new DynamoDBClient(options.region ? { region: options.region } : {});
  // `serviceConfiguredEndpoint` is the SDK's own lookup of AWS_ENDPOINT_URL_DYNAMODB /
  // AWS_ENDPOINT_URL / endpoint_url (tagged internal in @smithy/core): reading it keeps one source
  // of truth instead of re-parsing the variables here. Should it disappear, this stops compiling.
  const explicitEndpoint = options.endpoint || undefined;
  const endpointIsLocal = async (): Promise<boolean> => {
    const endpoint = explicitEndpoint ?? (await sdkDefaults.config.serviceConfiguredEndpoint?.());
    return endpoint !== undefined && isLocalEndpoint(endpoint);
  };

  const client = new DynamoDBClient({
    ...(explicitEndpoint ? { endpoint: explicitEndpoint } : {}),
    region:
      options.region ??
      (async () => {
        try {
          return await sdkDefaults.config.region();
        } catch (error) {
          if (await endpointIsLocal()) return LOCAL_FALLBACK_REGION;
          throw error;
        }
      }),
    credentials: async () => {
      try {
        return await sdkDefaults.config.credentials();
      } catch (error) {
        // A copy: the SDK annotates the identity object it is given.
        if (await endpointIsLocal()) return { ...LOCAL_FALLBACK_CREDENTIALS };
        throw error;
      }
    },
  });
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { client, doc };
}

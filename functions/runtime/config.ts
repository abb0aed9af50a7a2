import { z } from 'zod';

/**
 * The demo's default webhook secret (Standard Webhooks form: `whsec_` + base64). Published on
 * purpose so the local demo works out of the box; set `SELFHEAL_WEBHOOK_SECRET` anywhere real.
 */
export const DEMO_WEBHOOK_SECRET = 'whsec_c2VsZmhlYWwtbG9jYWwtZGVtby1zZWNyZXQtMzJieXRlcyE=';
/** The demo's default admin token; set `SELFHEAL_ADMIN_TOKEN` anywhere real. */
export const DEMO_ADMIN_TOKEN = 'selfheal-local-admin';

/** Text that may be left out; blank counts as left out. */
const optionalText = () =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value));

const optionalUrl = (protocols: readonly string[]) =>
  optionalText().refine(
    (value) => {
      if (value === undefined) return true;
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL with protocol ${protocols.join(' or ')}` },
  );

const intIn = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Every environment variable the system reads, parsed once. */
export const ConfigSchema = z.object({
  PORT: intIn(0, 65_535, 3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Redis Streams bus; the embedded in-memory bus when unset. */
  REDIS_URL: optionalUrl(['redis:', 'rediss:']),
  /** Postgres trace store; embedded PGlite when unset. */
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:']),
  /** Postgres schema holding the trace store's tables (isolates several systems in one DB). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'lower-case SQL identifier')
    .optional(),
  /** Where embedded PGlite keeps its files; in memory when unset. */
  PGLITE_DATA_DIR: z.string().min(1).optional(),
  /** DynamoDB endpoint (the SDK's own variable); embedded dynalite when unset locally. */
  AWS_ENDPOINT_URL_DYNAMODB: optionalUrl(['http:', 'https:']),
  /** Set by the Lambda runtime: there, DynamoDB is the real service. */
  AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
  /** Prefix of the DynamoDB table names (`<prefix>-selfheal-kv`); none by default. */
  SELFHEAL_TABLE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]*$/, 'letters, digits, _ . - only')
    .default(''),
  /**
   * AWS: the DynamoDB table holding the copy of the trace stream that the SSE function reads
   * (it runs outside the VPC and cannot reach ElastiCache); unset locally.
   */
  SELFHEAL_TRACE_MIRROR_TABLE: z.string().min(1).optional(),
  /** AWS: the DynamoDB table of the demo shop's product records; the `kv` table when unset. */
  SELFHEAL_SHOP_TABLE: z.string().min(1).optional(),
  /**
   * The target a function attaches to when its stages need one: `demo-shop` in AWS (every stage
   * function of the pipeline stack), `none` where the process starts its own target (the local
   * runtime seeds the demo shop itself) or needs none.
   */
  SELFHEAL_TARGET: z.enum(['none', 'demo-shop']).default('none'),
  /**
   * Where the target's source tree is (the repository root the manifest's paths are relative
   * to); unset, the tree this code runs from. The Lambda assets ship it beside the bundle.
   */
  SELFHEAL_TARGET_ROOT: optionalText(),
  /** AWS: the S3 bucket for release bundles and patches; unset locally (files in the data dir). */
  SELFHEAL_RELEASES_BUCKET: z.string().min(1).optional(),
  /**
   * The target's sync function a `deployer: 'lambda'` target ships its releases to (name, ARN or
   * partial ARN, unqualified); unset when the target deploys locally.
   */
  SELFHEAL_LAMBDA_FUNCTION: optionalText().refine(
    (value) =>
      value === undefined ||
      /^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?[a-zA-Z0-9_-]{1,64}$/.test(
        value,
      ),
    { message: 'a Lambda function name or ARN, without a version or alias' },
  ),
  /** The alias the Lambda deployer shifts between published versions. */
  SELFHEAL_LAMBDA_ALIAS: z
    .string()
    .regex(/^(?!\d+$)[a-zA-Z0-9_-]{1,128}$/, 'a Lambda alias name (not a number)')
    .default('live'),
  /** The release bundle's file in the deployment package: the function's handler module. */
  SELFHEAL_LAMBDA_MODULE_FILE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+\.mjs$/, 'a file name ending in .mjs')
    .default('index.mjs'),
  /** How long the Lambda deployer waits for a code update to finish before it gives up. */
  SELFHEAL_LAMBDA_UPDATE_TIMEOUT_MS: intIn(1_000, 900_000, 60_000),
  SELFHEAL_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
    .default(DEMO_WEBHOOK_SECRET),
  SELFHEAL_ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .default(DEMO_ADMIN_TOKEN),
  /** Shopify app secret for `X-Shopify-Hmac-Sha256`; the demo's default when unset. */
  SHOPIFY_WEBHOOK_SECRET: z.string().min(8).default('selfheal-local-shopify-secret'),
  /** Currency of items mapped from Shopify payloads (Shopify sends prices without one). */
  SHOPIFY_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'ISO 4217 code')
    .default('EUR'),
  /** Largest catalog push body accepted, in bytes (10 MiB). */
  SELFHEAL_MAX_PUSH_BYTES: intIn(1_024, 512 * 1024 * 1024, 10 * 1024 * 1024),
  /** Base URL the probes call the target's API at; the local runtime itself when unset. */
  SELFHEAL_TARGET_URL: optionalUrl(['http:', 'https:']),
  /**
   * The healing policy (JSON, see `selfheal.policy.json`); when unset, `selfheal.policy.json` in
   * the working directory if present, else the built-in default.
   */
  SELFHEAL_POLICY_FILE: z.string().min(1).optional(),
  /** Where the local runtime keeps release bundles and sandbox runs. */
  SELFHEAL_DATA_DIR: z.string().min(1).default('.data'),
  /** A sandboxed verification running longer than this fails. */
  SELFHEAL_VERIFY_TIMEOUT_MS: intIn(500, 600_000, 10_000),
  /** Heap cap of the verification sandbox, in MiB. */
  SELFHEAL_VERIFY_MAX_OLD_SPACE_MB: intIn(32, 8_192, 128),
  /** SKUs the differential run compares between the live and the candidate release. */
  SELFHEAL_VERIFY_SAMPLE: intIn(1, 100_000, 500),
  /** How often the scheduled probe samples the catalog. */
  PROBE_INTERVAL_MS: intIn(100, 86_400_000, 10_000),
  /** A probe call slower than this is a failure. */
  PROBE_TIMEOUT_MS: intIn(50, 60_000, 2_000),
  /** Morph Apply API key: when set, patches are merged by Morph first, the local merger after. */
  MORPH_API_KEY: optionalText(),
  MORPH_MODEL: z.string().min(1).default('morph-v3-fast'),
  MORPH_BASE_URL: optionalUrl(['http:', 'https:']),
  /** Turns on the LLM planner for faults no rule recognises (off by default). */
  LLM_PLANNER_ENABLED: z.stringbool().default(false),
  LLM_BASE_URL: optionalUrl(['http:', 'https:']),
  LLM_API_KEY: z.string().min(1).optional(),
  LLM_MODEL: z.string().min(1).optional(),
  LLM_MAX_TOKENS: intIn(16, 100_000, 1_024),
  /** Prompt plus completion tokens the planner may spend on one incident. */
  LLM_BUDGET_TOKENS: intIn(100, 10_000_000, 20_000),
  LLM_TIMEOUT_MS: intIn(100, 600_000, 30_000),
  /** Prefix of every Redis key the bus writes (several systems on one Redis). */
  SELFHEAL_STREAM_PREFIX: z.string().default(''),
  /** Approximate cap on each stream's length. */
  SELFHEAL_STREAM_MAXLEN: intIn(1_000, 100_000_000, 100_000),
  /** How long a poller blocks on an empty stream before looking again. */
  POLLER_BLOCK_MS: intIn(1, 60_000, 500),
  /** Pending entries idle this long are reclaimed by another consumer. */
  POLLER_CLAIM_IDLE_MS: intIn(100, 3_600_000, 30_000),
});
export type Config = z.infer<typeof ConfigSchema>;

/** Keys that are only required together with another one. */
const requiredWith = (config: Config): Array<{ key: string; message: string }> =>
  config.LLM_PLANNER_ENABLED
    ? (['LLM_API_KEY', 'LLM_MODEL'] as const)
        .filter((key) => !config[key])
        .map((key) => ({ key, message: 'required when LLM_PLANNER_ENABLED is true' }))
    : [];

/** Start-up stops here when the environment is wrong; the message lists every bad key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly { key: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.key} (${p.message})`).join('; ')}`);
  }
}

/**
 * Parses the configuration from an environment (default `process.env`). Throws a
 * {@link ConfigError} naming every invalid key at once, so one restart fixes them all.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = ConfigSchema.safeParse(env);
  if (result.success) {
    const missing = requiredWith(result.data);
    if (missing.length > 0) throw new ConfigError(missing);
    return result.data;
  }
  const problems = result.error.issues.map((issue) => ({
    key: issue.path.map(String).join('.') || '(env)',
    message: issue.message,
  }));
  throw new ConfigError(problems);
}

/** Which backend each port uses under a configuration. */
export const backendsOf = (config: Config) => ({
  bus: config.REDIS_URL ? ('redis' as const) : ('memory' as const),
  store: config.DATABASE_URL ? ('postgres' as const) : ('pglite' as const),
  kv:
    config.AWS_ENDPOINT_URL_DYNAMODB || config.AWS_LAMBDA_FUNCTION_NAME
      ? ('dynamodb' as const)
      : ('dynalite' as const),
});
export type Backends = ReturnType<typeof backendsOf>;

import { describe, expect, it } from 'vitest';
import { backendsOf, ConfigError, parseConfig } from '../functions/runtime/config.js';

describe('Config', () => {
  it('starts with embedded backends and documented defaults on an empty environment', () => {
    const config = parseConfig({});
    expect(config.PORT).toBe(3000);
    expect(backendsOf(config)).toEqual({ bus: 'memory', store: 'pglite', kv: 'dynalite' });
  });

  it('names the real servers when their URLs are set', () => {
    const config = parseConfig({
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
    });
    expect(backendsOf(config)).toEqual({ bus: 'redis', store: 'postgres', kv: 'dynamodb' });
  });

  it('treats an empty variable as unset', () => {
    expect(backendsOf(parseConfig({ REDIS_URL: '' })).bus).toBe('memory');
  });

  it('lists every invalid key in one error', () => {
    let error: unknown;
    try {
      parseConfig({
        PORT: 'eighty',
        REDIS_URL: 'http://not-redis',
        SELFHEAL_WEBHOOK_SECRET: 'plain',
        SELFHEAL_ADMIN_TOKEN: 'short',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.key).sort();
    expect(problems).toEqual([
      'PORT',
      'REDIS_URL',
      'SELFHEAL_ADMIN_TOKEN',
      'SELFHEAL_WEBHOOK_SECRET',
    ]);
    expect((error as ConfigError).message).toContain(
      'REDIS_URL (must be a URL with protocol redis: or rediss:)',
    );
  });
});

describe('Config: LLM planner', () => {
  it('is off by default and needs its key and model when turned on', () => {
    expect(parseConfig({}).LLM_PLANNER_ENABLED).toBe(false);
    let error: unknown;
    try {
      parseConfig({ LLM_PLANNER_ENABLED: 'true' });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).problems.map((p) => p.key)).toEqual(['LLM_API_KEY', 'LLM_MODEL']);
  });
});

import type { TestProject } from 'vitest/node';
import { JavaNotFoundError, startDynamoDbLocal } from './support/dynamodb-local.js';
import { isCI } from './support/services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * Endpoint of the DynamoDB Local shared by the whole run; an empty string when Java is missing
     * outside CI, and then the DynamoDB Local suites skip.
     */
    dynamodbLocalEndpoint: string;
  }
}

/**
 * Vitest global setup: one DynamoDB Local (a JVM, ~6 s to boot on two cores) for the whole run,
 * handed to test files through `inject('dynamodbLocalEndpoint')` and to child processes through
 * `TEST_DYNAMODB_ENDPOINT`. A `TEST_DYNAMODB_ENDPOINT` already set is reused as is, so a developer
 * can keep one instance running between runs.
 *
 * Under `CI=true` a failure to start fails the run; elsewhere a missing `java` only skips the
 * DynamoDB Local suites, with a warning.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const preset = process.env.TEST_DYNAMODB_ENDPOINT;
  if (preset) {
    project.provide('dynamodbLocalEndpoint', preset);
    return async () => {};
  }

  try {
    const dynamodbLocal = await startDynamoDbLocal();
    process.env.TEST_DYNAMODB_ENDPOINT = dynamodbLocal.endpoint;
    project.provide('dynamodbLocalEndpoint', dynamodbLocal.endpoint);
    return async () => {
      delete process.env.TEST_DYNAMODB_ENDPOINT;
      await dynamodbLocal.stop();
    };
  } catch (error) {
    if (isCI || !(error instanceof JavaNotFoundError)) throw error;
    console.warn(`[skip] DynamoDB Local suites skipped outside CI: ${error.message}`);
    project.provide('dynamodbLocalEndpoint', '');
    return async () => {};
  }
}

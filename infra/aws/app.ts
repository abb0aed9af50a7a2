/**
 * Entry point of the CDK app (`cdk.json` runs it with tsx). Everything it builds lives in
 * `create-app.ts`, so tests synthesize the same app in-process.
 */
import { createApp } from './create-app.js';

createApp().app.synth();

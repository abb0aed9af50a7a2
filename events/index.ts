export * from './catalog.js';
export * from './envelope.js';
export * from './healing.js';
export * from './registry.js';
export * from './signal.js';
export * from './trace.js';

export * from './app-package.js';
export * from './backoff.js';
export * from './errors.js';
export * from './events.js';
export * from './ids.js';
export * from './outcomes.js';
export * from './run-status.js';
export * from './subjects.js';

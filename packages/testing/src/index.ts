export * from './nats.js';
export * from './test-database.js';

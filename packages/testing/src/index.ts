export * from './child-env.js';
export * from './generated-graph.js';
export * from './graph-rows.js';
export * from './nats.js';
export * from './postgres-standby.js';
export * from './service-stack.js';
export * from './shared-data.js';
export * from './test-database.js';

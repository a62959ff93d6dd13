export * from './app-model.js';
export { type Choice, SimulatedDevice } from './device.js';
export { SimulatedExplorer } from './explorer.js';
export { performedAction, runGuided } from './guided-run.js';

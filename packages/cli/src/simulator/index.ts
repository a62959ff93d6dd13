export * from './app-model.js';
export { SimulatedExplorer } from './explorer.js';

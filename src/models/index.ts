/**
 * models — what a Kiln model is: hyperparameter specs with their ranges, builders for the
 * MLP and CNN families, and the model folder (tfjs model + kiln-model.json) that training
 * writes and the registry and server read.
 */
export * from './spec.js';
export * from './build.js';
export * from './saved-model.js';

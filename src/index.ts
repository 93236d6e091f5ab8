/**
 * edsim: Isamu Kaneko's ED (Error Diffusion) learning method, trained on many cores. Start with
 * {@link createTrainer} and {@link loadDataset}.
 * @module edsim
 */
export { loadDataset, parseClasses, parityData, mirrorData, type Dataset, type LoadedData, type LoadOptions } from './data/data.js';
export { GABOR, featureCount, featureSpec, gaborFeatures, withFeatures, type FeatureName, type GaborSpec } from './data/features.js';
export { codeInputs, inputMeans, onOffInputs, type InputCoding } from './data/coding.js';
export { createTrainer, loadTrainer, Trainer, type TrainerOptions, type FitOptions, type FitHistory, type EpochResult, type Evaluation } from './trainer.js';
export { STRATEGIES, EXACT_STRATEGIES, type StrategyName, type WorkerStats } from './engine/executor.js';
export { contentionAt, measureCosts, predictBatchSeconds, predictSamplesPerSecond, type Contention, type MachineCosts } from './parallel/scaling-model.js';
export { PRESETS, getPreset, type ModelConfig, type TrainConfig, type PresetName, type Preset, type RuleName, type Topology, type BiasMode, type Precision, type KernelChoice, type KernelImpl } from './options.js';
export type { ActivationName } from './engine/activations.js';
export type { WeightSet } from './engine/weights.js';
export type { TraceEvent } from './parallel/trace.js';
export { kanekoReplay, articleReplay, type ReplayResult } from './report/replay.js';
export { sweep, type SweepResult } from './report/sweep.js';
export { loadModel, saveModel, modelToSafetensors, modelFromSafetensors, type Calibration, type ModelFile } from './model-io.js';
export { EdsimError } from './errors.js';
export { readCheckpoint, writeCheckpoint, fingerprintData, type Checkpoint, type CheckpointOptions, type DataFingerprint, type EpochRecord } from './checkpoint.js';
export { encodeSafetensors, decodeSafetensors, type SafetensorsFile, type Tensor, type TensorDtype } from './safetensors.js';

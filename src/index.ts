/** edsim's library entry point. */
export { loadDataset, parseClasses, parityData, mirrorData, type Dataset, type LoadedData, type LoadOptions } from './data/data.js';
export { createTrainer, loadTrainer, Trainer, type TrainerOptions, type FitOptions, type FitHistory, type EpochResult, type Evaluation } from './trainer.js';
export { STRATEGIES, type StrategyName, type WorkerStats } from './engine/executor.js';
export { measureCosts, predictBatchSeconds, predictSamplesPerSecond, type MachineCosts } from './parallel/scaling-model.js';
export { PRESETS, getPreset, type ModelConfig, type TrainConfig, type PresetName, type RuleName, type Topology, type BiasMode } from './options.js';
export { kanekoReplay, articleReplay, type ReplayResult } from './report/replay.js';
export { sweep, type SweepResult } from './report/sweep.js';
export { loadModel, saveModel, type ModelFile } from './model-io.js';
export { EdsimError } from './errors.js';

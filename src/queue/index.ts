/**
 * edsim/queue: sweeps over a job queue on Redis (BullMQ). {@link submitRuns} enqueues one job per
 * seed and resolves with the rows as workers finish them; {@link runWorker} takes jobs until
 * SIGINT (the CLI's `edsim worker`). Kept apart from the main entry so that importing edsim does
 * not load BullMQ.
 * @module edsim/queue
 */
export { submitRuns, runWorker, checkReachable, type Submission } from './queue.js';
export { summarizeRuns, type RunSpec, type RunRow, type SweepSummary } from './runs.js';

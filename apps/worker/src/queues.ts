/** PERSISTED queue and job names of the worker app itself (see libs/planning/src/queues.ts). */
export const HEARTBEAT_QUEUE = 'heartbeat';
export const HeartbeatJob = { Beat: 'beat' } as const;

/** Redis hash: worker id -> ISO time of its last processed heartbeat job. */
export const HEARTBEAT_KEY = 'closeloop:heartbeat';
export const HEARTBEAT_EVERY_MS = 10_000;

/** The worker's own Redis client (heartbeats); BullMQ keeps its connections to itself. */
export const WORKER_REDIS = Symbol('WORKER_REDIS');

/**
 * PERSISTED queue and job names of the delivery lib: they are stored in Redis with every waiting
 * job and job scheduler; renaming one strands what is already queued under the old name.
 */
export const DELIVERY_QUEUE = 'delivery';

export const DeliveryJob = {
  /** Build the list if needed, write one send row per member, enqueue delivery batches. */
  Dispatch: 'dispatch',
  /** Deliver a batch of sends (ids only: the ledger holds the rest). */
  Deliver: 'deliver',
  /** Repeating: sends whose claim expired, programs launched but not dispatched, completion. */
  Reconcile: 'reconcile',
} as const;

export interface DeliveryJobPayloads {
  [DeliveryJob.Dispatch]: { programId: string };
  [DeliveryJob.Deliver]: { programId: string; sendIds: string[] };
  [DeliveryJob.Reconcile]: Record<string, never>;
}

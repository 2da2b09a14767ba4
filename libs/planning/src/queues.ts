/**
 * Queue and job names of the planning lib. PERSISTED: they are stored in Redis with every waiting
 * job and job scheduler; renaming one strands what is already queued under the old name.
 */
export const PLANNING_QUEUE = 'planning';

export const PlanningJob = {
  /** Repeating: launch scheduled programs whose scheduledAt has passed. */
  LaunchDue: 'launch-due',
} as const;

export interface PlanningJobPayloads {
  [PlanningJob.LaunchDue]: Record<string, never>;
}

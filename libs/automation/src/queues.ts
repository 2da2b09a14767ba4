/**
 * PERSISTED queue and job names of the automation lib: stored in Redis with every waiting job and
 * job scheduler; renaming one strands what is already queued under the old name.
 */
export const AUTOMATION_QUEUE = 'automation';

export const AutomationJob = {
  /** Repeating (and kicked when enrollments are added): advance due enrollments of active drips. */
  Tick: 'tick',
  /** Repeating: segment and date triggers, goal exits, firings whose action job was lost. */
  Triggers: 'triggers',
  /** Run a rule firing's actions (job id: the firing id). */
  Act: 'act',
  /** Re-check segment-triggered drips for customers an event just changed. */
  SegmentCheck: 'segment-check',
} as const;

export interface AutomationJobPayloads {
  [AutomationJob.Tick]: Record<string, never>;
  [AutomationJob.Triggers]: Record<string, never>;
  [AutomationJob.Act]: { firingId: string };
  [AutomationJob.SegmentCheck]: { customerIds: string[] };
}

/** The kick's fixed job id: while one waits, more kicks add nothing. */
export const TICK_KICK_JOB_ID = 'tick-kick';

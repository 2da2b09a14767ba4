/** PERSISTED queue and job names of the audience lib (renaming one strands queued jobs). */
export const AUDIENCE_QUEUE = 'audience';

export const AudienceJob = {
  /** Build (or rebuild) a program's target list. */
  ListBuild: 'list-build',
} as const;

export interface AudienceJobPayloads {
  [AudienceJob.ListBuild]: { programId: string };
}

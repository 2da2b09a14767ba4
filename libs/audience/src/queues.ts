/** PERSISTED queue and job names of the audience lib (renaming one strands queued jobs). */
export const AUDIENCE_QUEUE = 'audience';

export const AudienceJob = {
  /** Build (or rebuild) a program's target list. */
  ListBuild: 'list-build',
} as const;

/** CSV imports have their own queue, so a long import never holds up a list build. */
export const IMPORT_QUEUE = 'imports';

export const ImportJob = {
  /** Process an uploaded import (idempotent: a finished import is left alone). */
  Run: 'import',
} as const;

export interface AudienceJobPayloads {
  [AudienceJob.ListBuild]: { programId: string };
  [ImportJob.Run]: { importId: string };
}

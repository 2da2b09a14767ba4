export { PageQueryDto } from '@closeloop/persistence';
export type { Page } from '@closeloop/persistence';

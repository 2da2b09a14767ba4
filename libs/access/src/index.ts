export { AccessModule } from './access.module';
export { ApiKeyService, mapApiKey } from './api-key.service';
export type { ApiKeyView } from './api-key.service';

import { ApiKeyEntity } from './api-key.entity';
import { AuditEntryEntity } from './audit-entry.entity';
import { CampaignEntity } from './campaign.entity';
import { CellEntity } from './cell.entity';
import { OfferEntity } from './offer.entity';
import { ProgramEntity } from './program.entity';

export { ApiKeyEntity, AuditEntryEntity, CampaignEntity, CellEntity, OfferEntity, ProgramEntity };

export const ENTITIES = [ApiKeyEntity, AuditEntryEntity, CampaignEntity, CellEntity, OfferEntity, ProgramEntity];

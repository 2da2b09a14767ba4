import { Module } from '@nestjs/common';
import { CampaignService } from './campaign.service';
import { OfferService } from './offer.service';
import { ProgramService } from './program.service';

/** Campaigns, programs, cells and offers. Needs PersistenceModule (global) in the importing app. */
@Module({
  providers: [CampaignService, OfferService, ProgramService],
  exports: [CampaignService, OfferService, ProgramService],
})
export class PlanningModule {}

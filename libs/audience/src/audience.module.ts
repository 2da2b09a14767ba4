import { Module } from '@nestjs/common';
import { CustomerService } from './customer.service';
import { SegmentService } from './segment.service';
import { SuppressionService } from './suppression.service';

/** Customers, suppressions and segments. Needs PersistenceModule (global) in the importing app. */
@Module({
  providers: [CustomerService, SuppressionService, SegmentService],
  exports: [CustomerService, SuppressionService, SegmentService],
})
export class AudienceModule {}

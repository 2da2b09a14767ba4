import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { CustomerService } from './customer.service';
import { OrderService } from './order.service';
import { SegmentService } from './segment.service';
import { SuppressionService } from './suppression.service';
import { TargetListService } from './target-list.service';
import { AUDIENCE_QUEUE } from './queues';

/** Customers, suppressions, segments and target lists. Needs PersistenceModule and BullModule.forRoot in the app. */
@Module({
  imports: [BullModule.registerQueue({ name: AUDIENCE_QUEUE })],
  providers: [CustomerService, OrderService, SuppressionService, SegmentService, TargetListService],
  exports: [CustomerService, OrderService, SuppressionService, SegmentService, TargetListService],
})
export class AudienceModule {}

import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { CustomerService } from './customer.service';
import { ImportJobs } from './imports/import-jobs.service';
import { ImportModule } from './imports/import.module';
import { LifecycleService } from './lifecycle.service';
import { OrderService } from './order.service';
import { SegmentService } from './segment.service';
import { SuppressionService } from './suppression.service';
import { TargetListService } from './target-list.service';
import { AUDIENCE_QUEUE, IMPORT_QUEUE } from './queues';

/** Customers, orders, imports, suppressions, segments, lifecycle stages and target lists. Needs PersistenceModule and BullModule.forRoot in the app. */
@Module({
  imports: [BullModule.registerQueue({ name: AUDIENCE_QUEUE }, { name: IMPORT_QUEUE }), ImportModule],
  providers: [
    CustomerService,
    OrderService,
    SuppressionService,
    SegmentService,
    LifecycleService,
    TargetListService,
    ImportJobs,
  ],
  exports: [
    CustomerService,
    OrderService,
    SuppressionService,
    SegmentService,
    LifecycleService,
    TargetListService,
    ImportJobs,
    ImportModule,
  ],
})
export class AudienceModule {}

export { AudienceModule } from './audience.module';
export { CustomerService, toCustomerRecord, mapCustomer, addressHash } from './customer.service';
export { SuppressionService } from './suppression.service';
export { SegmentService, AUDIENCE_CLOCK } from './segment.service';
export * from './dto/customer.dto';
export * from './dto/suppression.dto';
export * from './dto/segment.dto';

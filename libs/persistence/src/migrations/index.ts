import { Foundation1764000000000 } from './1764000000000-foundation';
import { Audience1764100000000 } from './1764100000000-audience';
import { TargetList1764200000000 } from './1764200000000-target-list';
import { Imports1764300000000 } from './1764300000000-imports';
import { ListMemberRankKey1764400000000 } from './1764400000000-list-member-rank-key';
import { Delivery1764500000000 } from './1764500000000-delivery';
import { Tracking1764600000000 } from './1764600000000-tracking';
import { ReportCounters1764700000000 } from './1764700000000-report-counters';
import { Automation1764800000000 } from './1764800000000-automation';

/** Every migration, in order. Listed explicitly (not globbed) so builds and tests agree. */
export const MIGRATIONS = [
  Foundation1764000000000,
  Audience1764100000000,
  TargetList1764200000000,
  Imports1764300000000,
  ListMemberRankKey1764400000000,
  Delivery1764500000000,
  Tracking1764600000000,
  ReportCounters1764700000000,
  Automation1764800000000,
];

import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('program')
export class ProgramEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** Null only for programs automation keeps for a drip or a rule that has no campaign. */
  @Column('uuid', { nullable: true }) campaignId!: string | null;
  @Column('text') code!: string;
  @Column('text') name!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('text') channel!: string;
  @Column('text') state!: string;
  /** Segments and templates arrive with later issues; until then they are referenced by code. */
  @Column('text', { nullable: true }) segmentCode!: string | null;
  @Column('text', { nullable: true }) templateCode!: string | null;
  @Column('uuid', { nullable: true }) offerId!: string | null;
  @Column('timestamptz', { nullable: true }) scheduledAt!: Date | null;
  @Column('int') attributionWindowDays!: number;
  @Column('int', { nullable: true }) sampleSize!: number | null;
  @Column('numeric', { nullable: true }) samplePercent!: string | null;
  @Column('int', { nullable: true }) seed!: number | null;
  @Column('timestamptz', { nullable: true }) launchedAt!: Date | null;
  @Column('timestamptz', { nullable: true }) endedAt!: Date | null;
  /** Programs automation keeps to measure a drip, a drip's split or a rule: changed only through them. */
  @Column('text', { nullable: true }) managedBy!: 'drip' | 'rule' | null;
  @Column('uuid', { nullable: true }) managedId!: string | null;
  @Column('timestamptz') createdAt!: Date;
  @Column('timestamptz') updatedAt!: Date;
}

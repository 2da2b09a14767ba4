import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('campaign')
export class CampaignEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') code!: string;
  @Column('text') name!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('text', { nullable: true }) objective!: string | null;
  @Column('text', { nullable: true }) owner!: string | null;
  @Column('timestamptz', { nullable: true }) startsAt!: Date | null;
  @Column('timestamptz', { nullable: true }) endsAt!: Date | null;
  /** Money is integer minor units with a currency (STYLE.md "Data"). */
  @Column('bigint', { nullable: true }) budgetAmount!: string | null;
  @Column('text', { nullable: true }) budgetCurrency!: string | null;
  @Column('timestamptz') createdAt!: Date;
  @Column('timestamptz') updatedAt!: Date;
}

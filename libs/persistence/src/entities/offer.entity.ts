import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('offer')
export class OfferEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') code!: string;
  @Column('text') name!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('text') type!: string;
  /** percent_off: percent (numeric); amount_off: minor units; others: null. */
  @Column('numeric', { nullable: true }) value!: string | null;
  @Column('text', { nullable: true }) currency!: string | null;
  @Column('timestamptz', { nullable: true }) validFrom!: Date | null;
  @Column('timestamptz', { nullable: true }) validUntil!: Date | null;
  @Column('timestamptz') createdAt!: Date;
  @Column('timestamptz') updatedAt!: Date;
}

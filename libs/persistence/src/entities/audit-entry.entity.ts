import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('audit_entry')
export class AuditEntryEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id!: string;
  @Column('timestamptz') at!: Date;
  @Column('uuid', { nullable: true }) actorKeyId!: string | null;
  @Column('text') actorName!: string;
  @Column('text') action!: string;
  @Column('text') entityType!: string;
  @Column('uuid', { nullable: true }) entityId!: string | null;
  @Column('text', { nullable: true }) entityCode!: string | null;
  @Column('jsonb', { nullable: true }) changes!: Record<string, unknown> | null;
}

import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('api_key')
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') role!: string;
  /** Public part of the key, used to find the row; the secret part is only stored hashed. */
  @Column('text') prefix!: string;
  @Column('bytea') secretHash!: Buffer;
  @Column('timestamptz') createdAt!: Date;
  @Column('timestamptz', { nullable: true }) lastUsedAt!: Date | null;
  @Column('timestamptz', { nullable: true }) revokedAt!: Date | null;
}

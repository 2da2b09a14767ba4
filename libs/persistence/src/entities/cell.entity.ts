import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('cell')
export class CellEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid') programId!: string;
  @Column('text') code!: string;
  @Column('text') name!: string;
  /** Percent of the program's target list, numeric(9,4): returned by pg as a string. */
  @Column('numeric') weight!: string;
  @Column('boolean') isControl!: boolean;
  @Column('text', { nullable: true }) templateCode!: string | null;
  @Column('uuid', { nullable: true }) offerId!: string | null;
  @Column('text') responseCode!: string;
  @Column('int') position!: number;
  @Column('timestamptz') createdAt!: Date;
  @Column('timestamptz') updatedAt!: Date;
}

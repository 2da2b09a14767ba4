import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `list_member` is keyed by (program, rank) instead of (program, customer). The builder writes
 * members in rank order, so this index grows at its right edge instead of taking a million random
 * inserts, and the CSV export pages through it by rank instead of sorting the list on every page.
 * One member per customer holds by construction (members come from distinct customers).
 *
 * Its foreign key to program goes too: checking it is a lookup per member (several seconds for a
 * million). Planning deletes a program's members itself when it deletes the program.
 */
export class ListMemberRankKey1764400000000 implements MigrationInterface {
  name = 'ListMemberRankKey1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE list_member DROP CONSTRAINT list_member_pkey`);
    await q.query(`ALTER TABLE list_member ADD PRIMARY KEY (program_id, rank)`);
    await q.query(`ALTER TABLE list_member DROP CONSTRAINT list_member_program_id_fkey`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE list_member DROP CONSTRAINT list_member_pkey`);
    await q.query(`ALTER TABLE list_member ADD PRIMARY KEY (program_id, customer_id)`);
    await q.query(`ALTER TABLE list_member ADD FOREIGN KEY (program_id) REFERENCES program (id) ON DELETE CASCADE`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Target lists: one snapshot per program (replaced atomically on rebuild, before launch only) and
 * its members, keyed (program, customer) so sends can later be keyed the same way.
 */
export class TargetList1764200000000 implements MigrationInterface {
  name = 'TargetList1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE target_list (
        program_id uuid PRIMARY KEY REFERENCES program (id) ON DELETE CASCADE,
        state text NOT NULL CHECK (state IN ('queued', 'building', 'built', 'failed')),
        progress numeric NOT NULL DEFAULT 0,
        seed int,
        waterfall jsonb NOT NULL DEFAULT '[]'::jsonb,
        cells jsonb NOT NULL DEFAULT '[]'::jsonb,
        error text,
        requested_by text NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        built_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE list_member (
        program_id uuid NOT NULL REFERENCES program (id) ON DELETE CASCADE,
        -- No foreign keys on customer and cell: the builder writes members set-based from rows it
        -- has just read in the same transaction, and a per-row FK check would double its cost.
        customer_id uuid NOT NULL,
        cell_id uuid NOT NULL,
        response_code text NOT NULL,
        address text NOT NULL,
        rank int NOT NULL,
        PRIMARY KEY (program_id, customer_id)
      )`);
    // No index beyond the key: members are read by program (a key prefix), per-cell counts are kept in
    // target_list.cells, and a second index would double the cost of writing a million members.
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS list_member`);
    await q.query(`DROP TABLE IF EXISTS target_list`);
  }
}

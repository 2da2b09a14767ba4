import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * CSV imports: the uploaded file is kept in PostgreSQL (so any worker can process it, again if
 * it has to), with the import's state and counts and its rejected rows.
 */
export class Imports1764300000000 implements MigrationInterface {
  name = 'Imports1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE import (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind text NOT NULL CHECK (kind IN ('customers', 'orders', 'suppressions')),
        mode text NOT NULL CHECK (mode IN ('valid-rows', 'all-or-nothing')),
        delimiter text NOT NULL DEFAULT ',',
        file_name text,
        bytes bigint NOT NULL DEFAULT 0,
        state text NOT NULL CHECK (state IN ('uploading', 'queued', 'running', 'completed', 'failed')),
        progress numeric NOT NULL DEFAULT 0,
        counts jsonb,
        error text,
        attempts int NOT NULL DEFAULT 0,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX import_created_idx ON import (created_at, id)`);
    // The file, in pieces of about 1 MiB, stored as is (no compression pass on the way in).
    await q.query(`
      CREATE TABLE import_chunk (
        import_id uuid NOT NULL REFERENCES import (id) ON DELETE CASCADE,
        seq int NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (import_id, seq)
      )`);
    await q.query(`ALTER TABLE import_chunk ALTER COLUMN data SET STORAGE EXTERNAL`);
    await q.query(`
      CREATE TABLE import_error (
        import_id uuid NOT NULL REFERENCES import (id) ON DELETE CASCADE,
        line int NOT NULL,
        column_name text,
        reason text NOT NULL
      )`);
    await q.query(`CREATE INDEX import_error_line_idx ON import_error (import_id, line)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['import_error', 'import_chunk', 'import']) await q.query(`DROP TABLE IF EXISTS ${table}`);
  }
}

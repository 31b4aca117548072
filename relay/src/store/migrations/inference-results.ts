import type { SqliteMigration } from '../sqlite-migrations.ts'

/**
 * Inference jobs: a result's `signature` (the contributor's libp2p key's signature of its
 * task and payload hash, so a bad stage stays attributable after the fact), and a job's
 * `closed_tasks` (tasks of a pipeline whose sequence ended early: never run, never paid,
 * counted so the job completes and its view adds up).
 */
export const inferenceResults: SqliteMigration = {
  version: 5,
  name: 'inference results',
  up(db) {
    db.exec(`
      ALTER TABLE results ADD COLUMN signature TEXT;
      ALTER TABLE jobs ADD COLUMN closed_tasks INTEGER NOT NULL DEFAULT 0;
    `)
  },
}

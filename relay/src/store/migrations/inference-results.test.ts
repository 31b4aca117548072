import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import { inferenceResults } from './inference-results.ts'

const columns = (db: DatabaseSync, table: string) =>
  (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name)

describe('migration 5: inference results', () => {
  it('adds the result signature and the closed task count when missing, once', () => {
    const db = new DatabaseSync(':memory:')
    db.exec(`
      CREATE TABLE jobs (id TEXT PRIMARY KEY, total_tasks INTEGER NOT NULL);
      CREATE TABLE results (seq INTEGER PRIMARY KEY, job_id TEXT NOT NULL);
      INSERT INTO jobs VALUES ('j1', 3);
      INSERT INTO results VALUES (1, 'j1');
    `)
    inferenceResults.up(db)
    inferenceResults.up(db)
    expect(columns(db, 'results')).toContain('signature')
    expect(columns(db, 'jobs')).toContain('closed_tasks')
    expect(db.prepare('SELECT closed_tasks FROM jobs').get()).toEqual({ closed_tasks: 0 })
    expect(db.prepare('SELECT signature FROM results').get()).toEqual({ signature: null })
    db.close()
  })
})

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { SQLITE_VERSIONED_MIGRATIONS } from '../sqlite-migrations.ts'
import { createSqliteStore } from '../sqlite-store.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** The jobs table as relays at schema version 1 created it. */
const VERSION_1_JOBS = `
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL,
  spec TEXT NOT NULL, kernel TEXT NOT NULL, status TEXT NOT NULL, priority INTEGER NOT NULL,
  deadline INTEGER, tile_rows INTEGER, tile_cols INTEGER, total_tasks INTEGER NOT NULL,
  accepted_tasks INTEGER NOT NULL, rejected_results INTEGER NOT NULL,
  task_credits INTEGER NOT NULL, budget INTEGER NOT NULL, spent INTEGER NOT NULL,
  refunded INTEGER NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER, error TEXT
);
INSERT INTO jobs (id, owner, spec, kernel, status, priority, total_tasks, accepted_tasks,
  rejected_results, task_credits, budget, spent, refunded, created_at, finished_at)
VALUES ('j1', 'owner', '{"kernel":"matmul"}', 'matmul', 'completed', 1, 2, 2, 1, 5, 12, 10, 2, 1000, 2000);
PRAGMA user_version = 1;
`

describe('migration 2: first lease time and canaries accepted of jobs', () => {
  it('adds the columns to a version-1 database; its jobs read as having neither', () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrate-2-'))
    dirs.push(dir)
    const path = join(dir, 'coordinator.db')
    const db = new DatabaseSync(path)
    db.exec(VERSION_1_JOBS)
    db.close()

    const store = createSqliteStore({ path })
    const job = store.getJob('j1')!
    expect(job).toMatchObject({ acceptedTasks: 2, rejectedResults: 1, finishedAt: 2000 })
    expect(job.firstLeaseAt).toBeUndefined()
    expect(job.canariesAccepted).toBeUndefined()
    store.updateJob('j1', { firstLeaseAt: 1500, canariesAccepted: 3 })
    store.close()

    const again = createSqliteStore({ path })
    expect(again.getJob('j1')).toMatchObject({ firstLeaseAt: 1500, canariesAccepted: 3 })
    again.close()
    const check = new DatabaseSync(path)
    // This one and every later migration ran.
    expect(check.prepare('PRAGMA user_version').get()).toEqual({
      user_version: SQLITE_VERSIONED_MIGRATIONS.at(-1)!.version,
    })
    check.close()
  })
})

import { DatabaseSync } from 'node:sqlite'

/** Accepted results of a job per peer id (the first of agreeing replicas), from the store. */
export function acceptedByPeer(dbPath: string, jobId: string): Map<string, number> {
  const db = new DatabaseSync(dbPath, { readOnly: true })
  try {
    const rows = db
      .prepare('SELECT peer_id, COUNT(*) AS n FROM results WHERE job_id = ? GROUP BY peer_id')
      .all(jobId) as Array<{ peer_id: string; n: number }>
    return new Map(rows.map((r) => [r.peer_id, Number(r.n)]))
  } finally {
    db.close()
  }
}

import { DatabaseSync } from 'node:sqlite'

/** Peer ids the coordinator has banned, read from its store's `bans` table. */
export function bannedPeers(dbPath: string): Set<string> {
  const db = new DatabaseSync(dbPath, { readOnly: true })
  try {
    const rows = db.prepare("SELECT key FROM bans WHERE key LIKE 'peer:%'").all() as Array<{
      key: string
    }>
    return new Set(rows.map((r) => r.key.slice('peer:'.length)))
  } finally {
    db.close()
  }
}

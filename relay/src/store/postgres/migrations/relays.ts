import type { PostgresMigration } from '../postgres-migrations.ts'

/**
 * Version 4: `relays`, the registry of the relay/coordinators sharing this database. Each
 * relay upserts its row at start and refreshes `seen_at` on a heartbeat; a relay's
 * `/v1/swarm` lists the others seen lately, so tabs and workers can fail over to them.
 *
 * - `id`: the relay's libp2p peer id (stable across restarts: the key lives in its data
 *   directory), so a restarted relay updates its row rather than adding one;
 * - `multiaddrs`: a JSON array of the addresses tabs dial;
 * - `http_url`: its HTTP base, when it has one others can reach;
 * - `seen_at` / `started_at`: milliseconds since the epoch, by the relay's clock.
 * - `contributors` / `gflops`: its contributors online and their measured speed, written
 *   with each heartbeat: the cluster's public figures sum them over the live relays.
 */
export const relaysMigration: PostgresMigration = {
  version: 4,
  name: 'relays registry',
  async up(client) {
    await client.query(
      `CREATE TABLE relays (
         id TEXT PRIMARY KEY,
         peer_id TEXT NOT NULL,
         multiaddrs JSONB NOT NULL CHECK (jsonb_typeof(multiaddrs) = 'array'),
         http_url TEXT,
         seen_at BIGINT NOT NULL,
         started_at BIGINT NOT NULL,
         contributors INTEGER NOT NULL DEFAULT 0,
         gflops DOUBLE PRECISION NOT NULL DEFAULT 0
       )`,
    )
    await client.query('CREATE INDEX relays_seen_at ON relays (seen_at)')
  },
}

import type { PostgresMigration } from '../postgres-migrations.ts'

/**
 * Version 6: the task-offer exchange between the relays of a cluster
 * (`relay/src/cluster/task-offers.ts`). A job runs on the coordinator that owns it, but its
 * queued tasks may run on contributors connected to any relay:
 *
 * - `task_offers`: tasks an owner offers, each under a lease the owner holds for whoever
 *   claims it (`offer_id` is that lease's id). Open offers (`claimed_by IS NULL`) are
 *   claimed oldest first with `FOR UPDATE SKIP LOCKED`; `seq` orders offers published in
 *   the same millisecond as they were published. Times are milliseconds of the database's
 *   clock, so relays whose clocks disagree still agree on what expired.
 * - `offer_returns`: what the claiming relays send back to each owner: a result (its
 *   tensors' bytes concatenated in `payload`, their shapes, dtypes and byte lengths in
 *   `outputs`), a task error, a release (given back unrun) or a renewal. The owner stays
 *   the single writer of its job: it takes these and records them itself.
 * - `offer_verdicts`: the owner's verdict on each returned result, for the relay whose
 *   contributor ran it.
 *
 * All three are queues: rows are deleted as they are taken, and `purge` removes what was
 * left behind by relays that went away.
 */
export const taskOffersMigration: PostgresMigration = {
  version: 6,
  name: 'task offers, offer returns and offer verdicts',
  async up(client) {
    await client.query(`
      CREATE TABLE task_offers (
        offer_id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        job_id TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        "grant" JSONB NOT NULL,
        offered_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        claimed_by TEXT,
        claimed_at BIGINT,
        CHECK ((claimed_by IS NULL) = (claimed_at IS NULL))
      );
      CREATE INDEX task_offers_open ON task_offers (offered_at, seq) WHERE claimed_by IS NULL;
      CREATE INDEX task_offers_job ON task_offers (job_id);
      CREATE INDEX task_offers_expires_at ON task_offers (expires_at);

      CREATE TABLE offer_returns (
        id BIGSERIAL PRIMARY KEY,
        owner_id TEXT NOT NULL,
        offer_id TEXT NOT NULL,
        relay_id TEXT NOT NULL,
        peer_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('result', 'error', 'release', 'renew')),
        hello JSONB,
        outputs JSONB CHECK (outputs IS NULL OR jsonb_typeof(outputs) = 'array'),
        payload BYTEA,
        code TEXT,
        message TEXT,
        at BIGINT NOT NULL,
        CHECK ((kind = 'result') = (outputs IS NOT NULL AND payload IS NOT NULL)),
        CHECK ((kind = 'error') = (code IS NOT NULL AND message IS NOT NULL))
      );
      CREATE INDEX offer_returns_owner ON offer_returns (owner_id, id);
      CREATE INDEX offer_returns_at ON offer_returns (at);

      CREATE TABLE offer_verdicts (
        id BIGSERIAL PRIMARY KEY,
        relay_id TEXT NOT NULL,
        peer_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
        at BIGINT NOT NULL
      );
      CREATE INDEX offer_verdicts_relay ON offer_verdicts (relay_id, id);
      CREATE INDEX offer_verdicts_at ON offer_verdicts (at);
    `)
  },
}

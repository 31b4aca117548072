/**
 * The nonces of wallet-signed requests already accepted, each kept until its request's
 * timestamp can no longer pass the freshness check. The relay's store keeps them
 * (`CoordinatorStore` implements this), so a restart forgets none.
 */
export interface UsedNonces {
  /** Whether `key` was claimed and has not been pruned. */
  nonceUsed(key: string): boolean
  /**
   * Records `key` as used until `expiresAt` (ms since the epoch). Returns false, and changes
   * nothing, when it was already used: the check and the record are one step.
   */
  claimNonce(key: string, expiresAt: number): boolean
  /** Forgets every nonce that expired at or before `at`; returns how many. */
  pruneNonces(at: number): number
  /** Nonces held now. */
  countNonces(): number
}

/** A value now (memory, SQLite) or once a database has answered (PostgreSQL). */
export type Awaitable<T> = T | Promise<T>

/**
 * `UsedNonces` whose answers may come later: what the wallet authenticator takes, so that
 * the relays of a cluster can share one registry in PostgreSQL
 * (`store/postgres/postgres-auxiliary-store.ts`), where a claim made on one relay is seen
 * by all before the request it guards has any effect.
 */
export type NonceRegistry = {
  [K in keyof UsedNonces]: (
    ...args: Parameters<UsedNonces[K]>
  ) => Awaitable<ReturnType<UsedNonces[K]>>
}

/** Nonces in memory: for tests and a relay without a store; a restart forgets them. */
export function createMemoryUsedNonces(): UsedNonces {
  const until = new Map<string, number>()
  return {
    nonceUsed: (key) => until.has(key),
    claimNonce(key, expiresAt) {
      if (until.has(key)) return false
      until.set(key, expiresAt)
      return true
    },
    pruneNonces(at) {
      let pruned = 0
      for (const [key, expiresAt] of until) {
        if (expiresAt <= at) {
          until.delete(key)
          pruned++
        }
      }
      return pruned
    },
    countNonces: () => until.size,
  }
}

/** One wallet session as the store keeps it: the token's hash, never the token. */
export interface StoredWalletSession {
  /** Hex sha-256 of the token. */
  tokenSha256: string
  /** The checksummed wallet address it stands for. */
  account: string
  createdAt: number
  expiresAt: number
}

/**
 * Where wallet sessions live: the relay's store (`CoordinatorStore` implements this), so a
 * restart keeps them, and a revoked one stays revoked.
 */
export interface WalletSessionStore {
  insertSession(session: StoredWalletSession): void
  /** The session of this token hash, expired or not; undefined once revoked or pruned. */
  sessionByToken(tokenSha256: string): StoredWalletSession | undefined
  /** Returns whether there was one. */
  deleteSession(tokenSha256: string): boolean
  /** The account's sessions live at `at` (expiring after it), oldest first. */
  liveSessions(account: string, at: number): StoredWalletSession[]
  /** Forgets sessions that expired at or before `at`; returns how many. */
  pruneSessions(at: number): number
}

/**
 * `WalletSessionStore` whose answers may come later: what `createWalletSessions` takes, so
 * the relays of a cluster can keep sessions in the PostgreSQL they share (a session opened
 * on one relay works on all, a revoked one is refused by all).
 */
export type WalletSessionRecords = {
  [K in keyof WalletSessionStore]: (
    ...args: Parameters<WalletSessionStore[K]>
  ) => ReturnType<WalletSessionStore[K]> | Promise<ReturnType<WalletSessionStore[K]>>
}

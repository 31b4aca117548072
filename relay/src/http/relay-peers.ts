import type { RelayEntry } from '@tabswarm/protocol'
import type { Logger } from '../log.ts'

/** Where `GET /v1/swarm` learns of the cluster's other relays (the relays registry). */
export type RelayPeersSource = (signal: AbortSignal) => Promise<RelayEntry[]>

export interface CachedRelayPeersOptions {
  /** How long one answer is reused. @default 2_000 */
  ttlMs?: number
  /** Budget of one lookup; past it the directory lists this relay alone. @default 2_000 */
  timeoutMs?: number
  log?: Logger
  /** @default Date.now */
  now?: () => number
}

/**
 * `/v1/swarm` is public and unauthenticated, and every tab asks it on load: the other
 * relays are looked up at most once per `ttlMs`, however many ask at once, and a lookup
 * that fails or runs out of time leaves them out (the directory still names this relay,
 * which is all a tab needs to start) rather than failing the answer.
 */
export function cachedRelayPeers(
  source: RelayPeersSource,
  options: CachedRelayPeersOptions = {},
): () => Promise<RelayEntry[]> {
  const ttlMs = options.ttlMs ?? 2_000
  const timeoutMs = options.timeoutMs ?? 2_000
  const now = options.now ?? Date.now
  let cached: { at: number; peers: Promise<RelayEntry[]> } | undefined
  return () => {
    const at = now()
    if (cached != null && at - cached.at < ttlMs) return cached.peers
    const peers = source(AbortSignal.timeout(timeoutMs)).catch((err: Error) => {
      options.log?.warn('other relays not listed: looking them up failed', {
        error: err.message,
      })
      return []
    })
    cached = { at, peers }
    return peers
  }
}

import { MAX_HELD_BLOBS } from '@tabswarm/protocol'

/** Bounds of a {@link ProviderIndex}. */
export interface ProviderIndexOptions {
  /** Hashes one peer's announcement may hold; the rest (its oldest) are ignored. @default MAX_HELD_BLOBS */
  maxPerPeer?: number
  /** Peers remembered per hash: the most recent announcers win. @default 64 */
  maxPerHash?: number
  /** (peer, hash) entries over all peers; an announcement past it is cut short. @default 262_144 */
  maxEntries?: number
}

/**
 * Which online contributors hold which content hashes, from what they announce in their
 * lease requests (`holds`): the coordinator names them as providers of a lease's inputs, so
 * contributors fetch job data from each other before the relay. Only a hint: the fetching
 * side checks the hash, and falls back to the relay, so a peer that lies costs a fallback.
 */
export interface ProviderIndex {
  /**
   * Replaces `peerId`'s announcement with `hashes` (its cache, newest first; already
   * validated as sha-256 hex by the wire schema). An empty list forgets what it held.
   */
  announce(peerId: string, hashes: readonly string[]): void
  /**
   * Records that `peerId`, a peer that announces what it holds, now also holds `hashes`
   * (the inputs of a task it just returned), ahead of its earlier announcement: others are
   * pointed at it at once instead of after its next lease request. Ignored for a peer that
   * never announced (a headless worker serves nobody).
   */
  provide(peerId: string, hashes: readonly string[]): void
  /** Whether `peerId` has announced holding anything (and so serves peers). */
  serves(peerId: string): boolean
  /** Forgets a peer that left (or was banned). */
  forget(peerId: string): void
  /**
   * Up to `limit` peers that announced holding `sha256`, most recent announcement first,
   * never `exclude` (the requester itself) and only those `accept` admits (online, not banned).
   */
  providers(
    sha256: string,
    options: { exclude: string; limit: number; accept?: (peerId: string) => boolean },
  ): string[]
  /** (peer, hash) entries held. */
  readonly entries: number
}

/** An empty, bounded provider index. */
export function createProviderIndex(options: ProviderIndexOptions = {}): ProviderIndex {
  const maxPerPeer = options.maxPerPeer ?? MAX_HELD_BLOBS
  const maxPerHash = options.maxPerHash ?? 64
  const maxEntries = options.maxEntries ?? 262_144
  // Holders per hash, the most recent announcer last.
  const holders = new Map<string, string[]>()
  const announced = new Map<string, readonly string[]>()
  let entries = 0

  function forget(peerId: string): void {
    const hashes = announced.get(peerId)
    if (hashes == null) return
    announced.delete(peerId)
    for (const hash of hashes) {
      const list = holders.get(hash)
      const at = list?.indexOf(peerId) ?? -1
      if (list == null || at < 0) continue
      list.splice(at, 1)
      entries--
      if (list.length === 0) holders.delete(hash)
    }
  }

  const index: ProviderIndex = {
    announce(peerId, hashes) {
      forget(peerId)
      const room = Math.max(0, maxEntries - entries)
      const kept = [...new Set(hashes)].slice(0, Math.min(maxPerPeer, room))
      if (kept.length === 0) {
        // Nothing held yet, but a peer that serves: `provide` records what it fetches.
        announced.set(peerId, [])
        return
      }
      const recorded: string[] = []
      // Oldest first, so the newest of this peer's hashes ends up last (most recent).
      for (let i = kept.length - 1; i >= 0; i--) {
        const hash = kept[i]!
        let list = holders.get(hash)
        if (list == null) {
          list = []
          holders.set(hash, list)
        }
        if (list.length >= maxPerHash) {
          // The stalest announcer of this hash gives way.
          const stale = list.shift()!
          const theirs = announced.get(stale)
          if (theirs != null)
            announced.set(
              stale,
              theirs.filter((h) => h !== hash),
            )
          entries--
        }
        list.push(peerId)
        recorded.push(hash)
        entries++
      }
      announced.set(peerId, recorded)
    },
    provide(peerId, hashes) {
      const held = announced.get(peerId)
      if (held == null) return
      // `held` is oldest first; an announcement is newest first.
      index.announce(peerId, [...hashes, ...[...held].reverse()])
    },
    serves: (peerId) => announced.has(peerId),
    forget,
    providers(sha256, { exclude, limit, accept }) {
      const list = holders.get(sha256)
      if (list == null || limit <= 0) return []
      const out: string[] = []
      for (let i = list.length - 1; i >= 0 && out.length < limit; i--) {
        const peer = list[i]!
        if (peer !== exclude && (accept == null || accept(peer))) out.push(peer)
      }
      return out
    },
    get entries() {
      return entries
    },
  }
  return index
}

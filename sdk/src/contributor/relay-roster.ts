import type { Multiaddr } from '@multiformats/multiaddr'
import type { RelayCandidate } from '@tabswarm/protocol'

/** Misses in a row at one relay before moving to the next. */
export const RELAY_MISSES_BEFORE_FAILOVER = 3

export interface RelayRosterOptions {
  /**
   * Failed dials or exchanges in a row at the current relay before the next relay of the
   * list is tried. Each miss also moves to that relay's next address. @default 3
   */
  missesBeforeFailover?: number
}

/** What a miss led to. */
export interface RelayMiss {
  /** The relay that missed. */
  from: RelayCandidate
  /** The relay to try next: `from` again, or the next one of the list. */
  to: RelayCandidate
  failedOver: boolean
  /** Full turns of the list without reaching any relay, since one last answered. */
  rounds: number
}

/**
 * The relays a contributor knows (the directory's order: the one it was sent to first) and
 * which of them it uses now. A relay that went away gets a few tries, in case it is only
 * restarting (a single relay is retried for ever, as before clusters); after
 * `missesBeforeFailover` misses in a row the next relay is used, wrapping round the list.
 * Pure: the caller dials, waits and reports; tabs' relay link and the headless worker's
 * work channel share it.
 */
export interface RelayRoster {
  /** The relay in use. */
  readonly current: RelayCandidate
  /** Its address to dial now (addresses are tried in turn as they miss). */
  readonly address: Multiaddr
  readonly candidates: readonly RelayCandidate[]
  /** The current relay missed: a failed dial, a dropped connection, an exchange that timed out. */
  missed(): RelayMiss
  /** The current relay answered: its misses, and the rounds, start again from zero. */
  reached(): void
  /** Uses `address`'s relay (and that address) now, if the roster knows it. */
  use(address: Multiaddr): boolean
  /**
   * A fresh directory: its relays replace the list, in its order; the relay in use stays in
   * use when it is still listed. An empty list changes nothing.
   */
  update(candidates: readonly RelayCandidate[]): void
}

export function createRelayRoster(
  candidates: readonly RelayCandidate[],
  options: RelayRosterOptions = {},
): RelayRoster {
  if (candidates.length === 0 || candidates.some((c) => c.multiaddrs.length === 0))
    throw new Error('a relay roster needs at least one relay, each with an address')
  const missesBeforeFailover = Math.max(
    1,
    options.missesBeforeFailover ?? RELAY_MISSES_BEFORE_FAILOVER,
  )
  let list = [...candidates]
  let index = 0
  let addressIndex = 0
  let misses = 0
  /** Relays that missed in turn since one last answered. */
  let failovers = 0

  const at = () => list[index] as RelayCandidate
  return {
    get current() {
      return at()
    },
    get address() {
      const relay = at()
      return relay.multiaddrs[addressIndex % relay.multiaddrs.length] as Multiaddr
    },
    get candidates() {
      return list
    },
    missed() {
      const from = at()
      misses++
      addressIndex++
      const failedOver = misses >= missesBeforeFailover && list.length > 1
      if (failedOver) {
        index = (index + 1) % list.length
        addressIndex = 0
        misses = 0
        failovers++
      } else if (misses >= missesBeforeFailover) {
        // One relay alone: every miss is another turn of the list.
        misses = 0
        failovers++
      }
      return { from, to: at(), failedOver, rounds: Math.floor(failovers / list.length) }
    },
    reached() {
      misses = 0
      failovers = 0
    },
    use(address) {
      const text = address.toString()
      const found = list.findIndex((c) => c.multiaddrs.some((ma) => ma.toString() === text))
      if (found < 0) return false
      if (found !== index) misses = 0
      index = found
      addressIndex = (list[found] as RelayCandidate).multiaddrs.findIndex(
        (ma) => ma.toString() === text,
      )
      return true
    },
    update(next) {
      const usable = next.filter((c) => c.multiaddrs.length > 0)
      if (usable.length === 0) return
      const peerId = at().peerId
      list = [...usable]
      const kept = list.findIndex((c) => c.peerId === peerId)
      if (kept >= 0) {
        index = kept
        addressIndex %= (list[kept] as RelayCandidate).multiaddrs.length
      } else {
        index = 0
        addressIndex = 0
        misses = 0
      }
    },
  }
}

import type { Libp2p, PeerId } from '@libp2p/interface'
import type { RelayCandidate } from '@tabswarm/protocol'
import { delay, type RelayRoster } from '@tabswarm/sdk/contributor'
import { type BackoffOptions, backoffDelay } from './backoff.ts'
import type { SwarmStats } from './swarm-stats.ts'

/** What the relay link reports to the page. */
export type RelayLinkEvent =
  | { type: 'relay-connected'; relay: string }
  | { type: 'relay-lost'; relay: string }
  | { type: 'relay-retry'; error: string; retryInMs: number }
  /**
   * The relay kept missing; the next dial goes to another relay of the cluster. `toAddress`
   * is where that relay is (`swarm-b.example`, `127.0.0.1:8798`), for a person to read.
   */
  | { type: 'relay-failover'; from: string; to: string; toAddress?: string }

/**
 * Where a relay is, as a person reads it: the host (and port, unless 443 or 80) of its first
 * address that names one, e.g. `swarm-b.example` for `/dns4/swarm-b.example/tcp/443/wss/p2p/…`;
 * undefined when none does.
 */
export function relayAddress(multiaddrs: readonly { toString(): string }[]): string | undefined {
  for (const address of multiaddrs) {
    const match = /^\/(ip4|ip6|dns|dns4|dns6|dnsaddr)\/([^/]+)\/tcp\/(\d+)/.exec(address.toString())
    if (match == null) continue
    const host = match[1] === 'ip6' ? `[${match[2]}]` : match[2]!
    return match[3] === '443' || match[3] === '80' ? host : `${host}:${match[3]}`
  }
  return undefined
}

/**
 * Where a relay is, as a person knows it: the host (and port, unless the scheme's default)
 * of its HTTP URL when the directory gave one, else of its first libp2p address that names
 * one; undefined when neither does.
 */
export function relayLocation(relay: RelayCandidate): string | undefined {
  if (relay.url != null)
    try {
      return new URL(relay.url).host
    } catch {
      // Checked by the directory's schema; a bad one falls back to the addresses.
    }
  return relayAddress(relay.multiaddrs)
}

/** The relay a failover goes to, in a status line: its address, else the end of its peer id. */
export function failoverTarget(event: Extract<RelayLinkEvent, { type: 'relay-failover' }>): string {
  return event.toAddress ?? `…${event.to.slice(-6)}`
}

export interface RelayLinkOptions {
  node: Libp2p
  /**
   * The cluster's relays (the directory's order) and which one is in use: the link moves it
   * on when the relay in use keeps missing, and the tab's work and blobs follow it.
   */
  roster: RelayRoster
  /** The directory again; asked after repeated misses (relays may have moved or joined). */
  lookUp: (signal: AbortSignal) => Promise<RelayCandidate[]>
  stats: SwarmStats
  signal: AbortSignal
  /** Budget of one dial to the relay. @default 10_000 */
  dialTimeoutMs?: number
  backoff?: BackoffOptions
  onEvent?: (event: RelayLinkEvent) => void
}

/** Resolves when `peer` has no open connection left, or `signal` aborts. */
function disconnected(node: Libp2p, peer: PeerId, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (signal.aborted || node.getConnections(peer).length === 0) {
        node.removeEventListener('peer:disconnect', check)
        signal.removeEventListener('abort', check)
        resolve()
      }
    }
    node.addEventListener('peer:disconnect', check)
    signal.addEventListener('abort', check, { once: true })
    check()
  })
}

/**
 * Keeps the tab connected to a relay for as long as `signal` lives: dials, waits for the
 * connection to go, and dials again with capped, jittered exponential backoff. When the
 * connection returns, the circuit relay transport re-reserves a slot by itself (identify
 * tells it the relay speaks the HOP protocol), so other tabs can reach this one again.
 *
 * A relay that keeps missing (the roster's misses in a row: it is not just restarting) is
 * left for the next relay of the cluster, which is dialled after a short wait; each full
 * turn of the list without an answer starts the waits one step longer, up to the cap.
 * Resolves when `signal` aborts.
 */
export async function keepRelayConnected(options: RelayLinkOptions): Promise<void> {
  const { node, stats, signal, roster } = options
  const emit = options.onEvent ?? (() => {})
  const dialTimeoutMs = options.dialTimeoutMs ?? 10_000
  /** Which retry this is, for the backoff. */
  let attempt = 0
  /** Misses in a row, whichever relay: past three, the directory is asked again. */
  let misses = 0
  while (!signal.aborted) {
    try {
      const dialSignal = AbortSignal.any([signal, AbortSignal.timeout(dialTimeoutMs)])
      stats.timeline.relayDialAtMs ??= performance.now()
      const connection = await node.dial(roster.current.multiaddrs, { signal: dialSignal })
      const relay = connection.remotePeer
      roster.reached()
      stats.relay.connected = true
      stats.relay.connects++
      stats.relay.firstConnectedAtMs ??= performance.now()
      stats.timeline.relayConnectedAtMs ??= stats.relay.firstConnectedAtMs
      attempt = 0
      misses = 0
      emit({ type: 'relay-connected', relay: connection.remoteAddr.toString() })
      await disconnected(node, relay, signal)
      stats.relay.connected = false
      if (signal.aborted) return
      emit({ type: 'relay-lost', relay: relay.toString() })
    } catch (err) {
      if (signal.aborted) return
      stats.relay.failedDials++
      misses++
      const miss = roster.missed()
      if (miss.failedOver) {
        const toAddress = relayLocation(miss.to)
        emit({
          type: 'relay-failover',
          from: miss.from.peerId,
          to: miss.to.peerId,
          ...(toAddress ? { toAddress } : {}),
        })
        // A relay not yet tried this turn: no reason to wait as long as for the one that missed.
        attempt = miss.rounds
      }
      const retryInMs = backoffDelay(attempt++, options.backoff)
      emit({ type: 'relay-retry', error: (err as Error).message, retryInMs })
      try {
        await delay(retryInMs, signal)
      } catch {
        return // `signal` aborted (delay rejects for nothing else): the link is done.
      }
      // After a few misses the relays may have come back elsewhere (new port, new address)
      // or others joined the cluster.
      if (misses >= 3) {
        const fresh = await options.lookUp(signal).catch(() => [])
        roster.update(fresh)
      }
    }
  }
}

import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { delay } from '@tabswarm/sdk/contributor'
import { type BackoffOptions, backoffDelay } from './backoff.ts'
import type { SwarmStats } from './swarm-stats.ts'

/** What the relay link reports to the page. */
export type RelayLinkEvent =
  | { type: 'relay-connected'; relay: string }
  | { type: 'relay-lost'; relay: string }
  | { type: 'relay-retry'; error: string; retryInMs: number }

export interface RelayLinkOptions {
  node: Libp2p
  /** The relay's current addresses; asked again after failed dials (it may have moved). */
  lookUp: (signal: AbortSignal) => Promise<Multiaddr[]>
  /** Addresses already known, tried first. */
  initial: Multiaddr[]
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
 * Keeps the tab connected to the relay for as long as `signal` lives: dials, waits for the
 * connection to go, and dials again with capped, jittered exponential backoff. When the
 * connection returns, the circuit relay transport re-reserves a slot by itself (identify
 * tells it the relay speaks the HOP protocol), so other tabs can reach this one again.
 * Resolves when `signal` aborts.
 */
export async function keepRelayConnected(options: RelayLinkOptions): Promise<void> {
  const { node, stats, signal } = options
  const emit = options.onEvent ?? (() => {})
  const dialTimeoutMs = options.dialTimeoutMs ?? 10_000
  let addrs = options.initial
  let attempt = 0
  while (!signal.aborted) {
    try {
      if (addrs.length === 0) addrs = await options.lookUp(signal)
      const dialSignal = AbortSignal.any([signal, AbortSignal.timeout(dialTimeoutMs)])
      stats.timeline.relayDialAtMs ??= performance.now()
      const connection = await node.dial(addrs, { signal: dialSignal })
      const relay = connection.remotePeer
      stats.relay.connected = true
      stats.relay.connects++
      stats.relay.firstConnectedAtMs ??= performance.now()
      stats.timeline.relayConnectedAtMs ??= stats.relay.firstConnectedAtMs
      attempt = 0
      emit({ type: 'relay-connected', relay: connection.remoteAddr.toString() })
      await disconnected(node, relay, signal)
      stats.relay.connected = false
      if (signal.aborted) return
      emit({ type: 'relay-lost', relay: relay.toString() })
    } catch (err) {
      if (signal.aborted) return
      stats.relay.failedDials++
      const retryInMs = backoffDelay(attempt++, options.backoff)
      emit({ type: 'relay-retry', error: (err as Error).message, retryInMs })
      try {
        await delay(retryInMs, signal)
      } catch {
        return // `signal` aborted (delay rejects for nothing else): the link is done.
      }
      // After a few misses the relay may have come back elsewhere (new port, new address).
      if (attempt >= 3) {
        addrs = await options.lookUp(signal).catch(() => addrs)
      }
    }
  }
}

import { multiaddr } from '@multiformats/multiaddr'
import { IceServersSchema, relayCandidatesOf } from '@tabswarm/protocol'
import type { SwarmDirectory } from './tab-swarm.ts'

/** Budget for asking the relay where its libp2p listeners are. */
const LOOKUP_TIMEOUT_MS = 10_000

/** Optional page configuration an embedding site sets before the script runs. */
declare global {
  var tabswarmConfig: { iceServers?: RTCIceServer[] } | undefined
}

/**
 * Asks a relay (`GET <relay>/v1/swarm`) for its multiaddrs and the STUN/TURN servers tabs
 * should use: by default the relay that served this page (`./`), or, for the widget on
 * another site, the relay its `relay` attribute names (whose `/v1/swarm` is readable
 * cross-origin), and the other relays of its cluster (`relays`). `globalThis.tabswarmConfig.iceServers`, when a page sets it, takes
 * precedence over the relay's list.
 */
export async function lookUpSwarm(
  signal: AbortSignal,
  relay: string | URL = './',
): Promise<SwarmDirectory> {
  const lookup = AbortSignal.any([signal, AbortSignal.timeout(LOOKUP_TIMEOUT_MS)])
  const url = swarmUrl(relay)
  const response = await fetch(url, { signal: lookup })
  if (!response.ok) throw new Error(`the relay answered ${response.status} for ${url}`)
  const body = (await response.json()) as { multiaddrs?: unknown; iceServers?: unknown }
  if (!Array.isArray(body.multiaddrs) || !body.multiaddrs.every((a) => typeof a === 'string')) {
    throw new Error('the relay sent a malformed /v1/swarm answer: multiaddrs')
  }
  const iceServers = IceServersSchema.safeParse(
    globalThis.tabswarmConfig?.iceServers ?? body.iceServers ?? [],
  )
  if (!iceServers.success) {
    const issue = iceServers.error.issues[0]
    throw new Error(
      `malformed ICE servers: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`,
    )
  }
  return {
    relayAddrs: body.multiaddrs.map((a: string) => multiaddr(a)),
    // This relay first, then the others of its cluster: where the tab goes when it goes away.
    relays: relayCandidatesOf(body),
    iceServers: iceServers.data as RTCIceServer[],
  }
}

/**
 * `<relay>/v1/swarm`, the relay's own base kept (`https://host/tabswarm` is a relay mounted
 * under a path): `./` is the page's own relay.
 */
export function swarmUrl(relay: string | URL): string {
  const base = new URL(String(relay), globalThis.location?.href)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return new URL('v1/swarm', base).href
}

import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { MAX_DIRECTORY_RELAYS, type RelayCandidate, relayCandidatesOf } from '@tabswarm/protocol'
import { InvalidInputError, RelayUnreachableError } from '../client/client-errors.ts'
import { RELAY_LOOKUP_TIMEOUT_MS } from '../constants.ts'

/**
 * Turns what a user typed into the relay's libp2p addresses: a multiaddr is used as is; an
 * `http(s)://` URL is asked for its listeners at `GET /v1/swarm`.
 *
 * @example
 * await resolveRelay('http://127.0.0.1:8787') // [ /ip4/127.0.0.1/tcp/8788/ws/p2p/12D3Koo... ]
 */
export async function resolveRelay(
  relay: string,
  { signal }: { signal?: AbortSignal } = {},
): Promise<Multiaddr[]> {
  const [first] = await resolveOne(relay, signal)
  return (first as RelayCandidate).multiaddrs
}

/**
 * Every relay a contributor may use, in order: each entry (an `http(s)://` URL or a
 * multiaddr) in turn, and for a URL the cluster's relays its `GET /v1/swarm` lists after
 * itself. A relay named twice is kept once, at its first place; at most
 * `MAX_DIRECTORY_RELAYS` (16). An entry that cannot be resolved is skipped while another
 * can (it may be the relay that is down); when none can, the first entry's error is thrown.
 *
 * @example
 * await resolveRelays(['http://10.0.0.1:8787', 'http://10.0.0.2:8787'])
 * // [ { peerId: '12D3KooA…', multiaddrs: [...] }, { peerId: '12D3KooB…', … }, … ]
 */
export async function resolveRelays(
  relays: string | readonly string[],
  { signal }: { signal?: AbortSignal } = {},
): Promise<RelayCandidate[]> {
  const entries = typeof relays === 'string' ? [relays] : relays
  if (entries.length === 0) throw new InvalidInputError('no relay given: name at least one')
  const settled = await Promise.allSettled(entries.map((entry) => resolveOne(entry, signal)))
  signal?.throwIfAborted()
  const candidates: RelayCandidate[] = []
  for (const outcome of settled) {
    if (outcome.status === 'rejected') continue
    for (const candidate of outcome.value)
      if (!candidates.some((c) => c.peerId === candidate.peerId)) candidates.push(candidate)
  }
  if (candidates.length === 0) throw (settled[0] as PromiseRejectedResult).reason
  return candidates.slice(0, MAX_DIRECTORY_RELAYS)
}

/** One entry's relays: a multiaddr is one relay; a URL is its directory's list. */
async function resolveOne(relay: string, signal: AbortSignal | undefined) {
  if (relay.startsWith('/')) {
    let ma: Multiaddr
    try {
      ma = multiaddr(relay)
    } catch (err) {
      throw new InvalidInputError(`not a valid multiaddr: ${relay} (${(err as Error).message})`)
    }
    const peerId = ma.getComponents().findLast((c) => c.name === 'p2p')?.value ?? relay
    return [{ peerId, multiaddrs: [ma] }]
  }
  let url: URL | undefined
  try {
    url = new URL('v1/swarm', relay.endsWith('/') ? relay : `${relay}/`)
  } catch {
    // refused below
  }
  if (url == null || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new InvalidInputError(`the relay must be an http(s) URL or a multiaddr, got "${relay}"`)
  const timeout = AbortSignal.timeout(RELAY_LOOKUP_TIMEOUT_MS)
  let response: Response
  try {
    response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout })
  } catch (err) {
    if (signal?.aborted) throw signal.reason
    throw new RelayUnreachableError(relay, err)
  }
  if (!response.ok)
    throw new RelayUnreachableError(relay, new Error(`GET /v1/swarm answered ${response.status}`))
  const body = (await response.json().catch(() => null)) as { multiaddrs?: unknown } | null
  const addrs = body?.multiaddrs
  if (!Array.isArray(addrs) || addrs.length === 0 || !addrs.every((a) => typeof a === 'string'))
    throw new RelayUnreachableError(relay, new Error('GET /v1/swarm returned no multiaddrs'))
  // The relay is a peer like any other: a handful of addresses, each one parsed; its
  // neighbours likewise, a malformed one dropped.
  const candidates = relayCandidatesOf(body)
  if (candidates.length === 0)
    throw new RelayUnreachableError(relay, new Error('GET /v1/swarm returned no valid multiaddr'))
  return candidates
}

import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { InvalidInputError, RelayUnreachableError } from '../client/client-errors.ts'
import { RELAY_LOOKUP_TIMEOUT_MS } from '../constants.ts'

/** Addresses of the relay tried at most; the rest of a longer list is ignored. */
const MAX_RELAY_ADDRESSES = 16

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
  if (relay.startsWith('/')) {
    try {
      return [multiaddr(relay)]
    } catch (err) {
      throw new InvalidInputError(`not a valid multiaddr: ${relay} (${(err as Error).message})`)
    }
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
  // The relay is a peer like any other: a handful of addresses, each one parsed.
  const parsed = addrs.slice(0, MAX_RELAY_ADDRESSES).flatMap((a) => {
    try {
      return [multiaddr(a)]
    } catch {
      return []
    }
  })
  if (parsed.length === 0)
    throw new RelayUnreachableError(relay, new Error('GET /v1/swarm returned no valid multiaddr'))
  return parsed
}

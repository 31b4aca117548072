import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'

/**
 * The relays of one cluster, as `GET /v1/swarm` lists them (`relays`): the relay that
 * answered first, then the other relay/coordinators sharing its database that were seen
 * alive lately. Tabs and headless workers keep the list and, when their relay goes away and
 * does not come back, dial the next one. Browser-safe.
 *
 * Failing over needs no new wallet signature: a contributor's wallet binding
 * (`wallet-proof.ts`) names its own peer id, its site, a nonce and an expiry, never a relay,
 * so the binding a tab signed for one relay holds at every relay of the cluster.
 */

/** Relays a directory lists at most; clients ignore the rest of a longer list. */
export const MAX_DIRECTORY_RELAYS = 16

/** Addresses of one relay kept at most. */
export const MAX_RELAY_MULTIADDRS = 16

/** One relay of the cluster: its libp2p identity, where to dial it and its HTTP API. */
export const RelayEntrySchema = z.object({
  peerId: z.string().min(1).max(128),
  multiaddrs: z.array(z.string().min(1).max(1024)).min(1).max(MAX_RELAY_MULTIADDRS),
  /** Its HTTP base URL (`http://10.0.0.2:8787`), when it serves one others can reach. */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
})
export type RelayEntry = z.infer<typeof RelayEntrySchema>

/** One relay with its addresses parsed, every one ending in `/p2p/<peerId>`. */
export interface RelayCandidate {
  peerId: string
  multiaddrs: Multiaddr[]
  /**
   * Its HTTP base URL, when the directory gave one: where a person knows the relay (its
   * page, its API), not its libp2p listener.
   */
  url?: string
}

/**
 * The relays a `/v1/swarm` answer names, in its order, as dialable candidates: its
 * `relays` list when it has one (this relay first), else its own `peerId` and `multiaddrs`
 * (a relay from before clusters). A malformed entry, an address that does not parse or
 * names another peer, and a relay listed twice are dropped, not fatal: one bad neighbour
 * must not keep a tab from the relay that answered.
 */
export function relayCandidatesOf(directory: unknown): RelayCandidate[] {
  const body = (typeof directory === 'object' && directory != null ? directory : {}) as {
    peerId?: unknown
    multiaddrs?: unknown
    relays?: unknown
  }
  const own = { peerId: body.peerId, multiaddrs: body.multiaddrs }
  const listed = Array.isArray(body.relays) ? [own, ...body.relays] : [own]
  const candidates: RelayCandidate[] = []
  for (const entry of listed) {
    if (candidates.length >= MAX_DIRECTORY_RELAYS) break
    const candidate = candidateOf(entry)
    if (candidate == null) continue
    const known = candidates.find((c) => c.peerId === candidate.peerId)
    if (known == null) candidates.push(candidate)
    // Listed twice (the answering relay, at the top and in `relays`): one may carry its URL.
    else if (known.url == null && candidate.url != null) known.url = candidate.url
  }
  return candidates
}

function candidateOf(entry: unknown): RelayCandidate | undefined {
  // A relay listening on more addresses than a client tries is still a relay: its first ones.
  const capped =
    typeof entry === 'object' && entry != null && Array.isArray((entry as RelayEntry).multiaddrs)
      ? { ...entry, multiaddrs: (entry as RelayEntry).multiaddrs.slice(0, MAX_RELAY_MULTIADDRS) }
      : entry
  const parsed = RelayEntrySchema.safeParse(capped)
  if (!parsed.success) return undefined
  const { peerId } = parsed.data
  try {
    peerIdFromString(peerId)
  } catch {
    return undefined
  }
  const multiaddrs = parsed.data.multiaddrs.flatMap((text) => {
    try {
      const ma = multiaddr(text)
      const named = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
      if (named == null) return [multiaddr(`${text}/p2p/${peerId}`)]
      return named === peerId ? [ma] : []
    } catch {
      return []
    }
  })
  if (multiaddrs.length === 0) return undefined
  return parsed.data.url != null
    ? { peerId, multiaddrs, url: parsed.data.url }
    : { peerId, multiaddrs }
}

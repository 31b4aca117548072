import { type InputRef, MAX_HELD_BLOBS } from '@tabswarm/protocol'
import type { InputSource } from '@tabswarm/sdk/contributor'
import type { WeightCache } from '../blobs/weight-cache.ts'
import type { TabSwarm } from '../swarm/tab-swarm.ts'

/** Options of {@link swarmInputSource}. */
export interface SwarmInputSourceOptions {
  /**
   * The tab's persistent weight cache, asked after the in-memory cache and before peers and
   * the relay for the inputs `persists` picks; what they fetch is written to it.
   */
  weights?: WeightCache | undefined
  /**
   * Which inputs go to `weights`. @default a decoder program's weight tensors (`w0`, `w1`, …):
   * large and the same for every step, unlike activations, which stay in memory only.
   */
  persists?: ((ref: InputRef) => boolean) | undefined
}

/** Outputs kept (`keep`) that `held()` lists first, newest first, while still cached. */
const MAX_PRODUCED = 64

const isWeightInput = (ref: InputRef) => /^w\d+$/.test(ref.name)

type Swarm = Pick<TabSwarm, 'fetchBlob' | 'heldBlobs' | 'keepBlob' | 'holdsBlob'>

/**
 * A tab's task inputs from its swarm: the blob cache in memory, the persistent weight cache
 * (for weights), then the peers the lease names as providers (over direct WebRTC), then the
 * relay's blob store, every answer hash-checked by `fetchBlob` or the weight cache (and
 * again by the contributor loop). Peers get half the fetch's budget, so dead or slow
 * providers cost a fallback to the relay, not the task. Fetched inputs stay in the bounded
 * memory cache, which serves them to other tabs; `held()` announces them, the activations
 * this tab produced (`keep`) first, so the next stage's tab is told to fetch them here.
 *
 * Only the lease's providers are asked, not every connected tab: the coordinator names
 * every contributor that announced holding the bytes, so the others would only answer
 * that they do not.
 *
 * @example
 * runContributor({ node, relay, inputs: swarmInputSource(joined, { weights }), ... })
 */
export function swarmInputSource(swarm: Swarm, options: SwarmInputSourceOptions = {}): InputSource {
  const { weights } = options
  const persists = options.persists ?? isWeightInput
  /** Hashes of kept outputs, oldest first. */
  const produced: string[] = []
  return {
    async fetch(ref, { signal, timeoutMs }) {
      const durable = weights != null && persists(ref) && !swarm.holdsBlob(ref.sha256)
      if (durable) {
        const stored = await weights.get(ref.sha256, ref.byteLength, { signal })
        if (stored != null) {
          // Served to peers from memory too, as if fetched now.
          swarm.keepBlob(ref.sha256, stored)
          return { bytes: stored, from: 'cache' }
        }
      }
      const got = await swarm.fetchBlob(ref.sha256, {
        providers: ref.providers ?? [],
        askConnectedPeers: false,
        maxBytes: ref.byteLength,
        timeoutMs,
        signal,
      })
      // `fetchBlob` hashed them: kept for the next visit, without holding up this task.
      if (durable && got.source !== 'cache') void weights.put(ref.sha256, got.bytes)
      const { fallback } = got
      return {
        bytes: got.bytes,
        from: got.source,
        fallbacks: fallback
          ? fallback.unreachable.length + fallback.notHeld.length + fallback.failed.length
          : 0,
      }
    },
    held() {
      const recent = swarm.heldBlobs(MAX_HELD_BLOBS)
      const first = produced.filter((hash) => swarm.holdsBlob(hash)).reverse()
      const listed = new Set(first)
      return [...first, ...recent.filter((hash) => !listed.has(hash))].slice(0, MAX_HELD_BLOBS)
    },
    keep(sha256, bytes) {
      if (!swarm.keepBlob(sha256, bytes)) return
      const at = produced.indexOf(sha256)
      if (at >= 0) produced.splice(at, 1)
      produced.push(sha256)
      if (produced.length > MAX_PRODUCED) produced.shift()
    },
  }
}

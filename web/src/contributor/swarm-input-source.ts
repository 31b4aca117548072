import { MAX_HELD_BLOBS } from '@tabswarm/protocol'
import type { InputSource } from '@tabswarm/sdk/contributor'
import type { TabSwarm } from '../swarm/tab-swarm.ts'

/**
 * A tab's task inputs from its swarm: the blob cache, then the peers the lease names as
 * providers (over direct WebRTC), then the relay's blob store, every answer hash-checked
 * by `fetchBlob` (and again by the contributor loop). Peers get half the fetch's budget, so
 * dead or slow providers cost a fallback to the relay, not the task. Fetched inputs stay in
 * the bounded cache, which serves them to other tabs; `held()` announces them.
 *
 * Only the lease's providers are asked, not every connected tab: the coordinator names
 * every contributor that announced holding the bytes, so the others would only answer
 * that they do not.
 *
 * @example
 * runContributor({ node, relay, inputs: swarmInputSource(joined), ... })
 */
export function swarmInputSource(swarm: Pick<TabSwarm, 'fetchBlob' | 'heldBlobs'>): InputSource {
  return {
    async fetch(ref, { signal, timeoutMs }) {
      const got = await swarm.fetchBlob(ref.sha256, {
        providers: ref.providers ?? [],
        askConnectedPeers: false,
        maxBytes: ref.byteLength,
        timeoutMs,
        signal,
      })
      const { fallback } = got
      return {
        bytes: got.bytes,
        from: got.source,
        fallbacks: fallback
          ? fallback.unreachable.length + fallback.notHeld.length + fallback.failed.length
          : 0,
      }
    },
    held: () => swarm.heldBlobs(MAX_HELD_BLOBS),
  }
}

import type { Libp2p } from '@libp2p/interface'
import { BLOB_PROTOCOL, requestBlob } from '@tabswarm/protocol'
import type { InputSource } from './input-source.ts'
import { type RelayTarget, relayAddressOf } from './work-channel.ts'

/** Options of {@link relayInputSource}. */
export interface RelayInputSourceOptions {
  /** Fail a transfer when no chunk arrives for this long. @default 15_000 (the blob protocol's) */
  idleTimeoutMs?: number
}

/**
 * Task inputs from the relay's blob protocol: one `BLOB_PROTOCOL` stream per input, over
 * the node's connection to `relay` (dialled again only if it dropped). The relay serves
 * every input a live lease names, matmul bands of A included, by the bytes' own sha-256;
 * `requestBlob` checks the hash and refuses more than `ref.byteLength` bytes. Serves no
 * peers, so it has no `held()`: its lease requests announce nothing.
 *
 * @example
 * const inputs = relayInputSource(node, multiaddr('/ip4/127.0.0.1/tcp/8788/ws/p2p/12D3Koo…'))
 */
export function relayInputSource(
  node: Libp2p,
  relay: RelayTarget,
  options: RelayInputSourceOptions = {},
): InputSource {
  return {
    async fetch(ref, { signal }) {
      const stream = await node.dialProtocol(relayAddressOf(relay), BLOB_PROTOCOL, { signal })
      const bytes = await requestBlob(stream, ref.sha256, {
        signal,
        maxBytes: ref.byteLength,
        ...(options.idleTimeoutMs != null ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      })
      return { bytes, from: 'relay' }
    },
  }
}

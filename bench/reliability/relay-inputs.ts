import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { BLOB_PROTOCOL, type InputRef, type Lease, requestBlob } from '@tabswarm/protocol'

/**
 * How the suites' hand-written work-protocol peers read a lease's inputs: by hash, over the
 * relay's blob protocol (a real contributor tries the lease's providers first; these fakes
 * go straight to the relay). Each fetch is checked against its hash by `requestBlob`.
 */
export async function fetchInputs(
  node: Libp2p,
  relay: Multiaddr,
  inputs: readonly InputRef[],
  options: { timeoutMs?: number } = {},
): Promise<Uint8Array[]> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? 15_000)
  return Promise.all(
    inputs.map(async (ref) => {
      const stream = await node.dialProtocol(relay, BLOB_PROTOCOL, { signal })
      const bytes = await requestBlob(stream, ref.sha256, { signal, maxBytes: ref.byteLength })
      if (bytes.byteLength !== ref.byteLength)
        throw new Error(
          `input ${ref.name}: ${bytes.byteLength} bytes, the lease says ${ref.byteLength}`,
        )
      return bytes
    }),
  )
}

/** A matmul lease's operands, fetched from the relay. */
export async function fetchMatmulOperands(
  node: Libp2p,
  relay: Multiaddr,
  lease: Lease,
): Promise<{ a: Float32Array; b: Float32Array; m: number; k: number; n: number }> {
  if (lease.program.kind !== 'matmul')
    throw new Error(`lease ${lease.leaseId} runs ${lease.program.kind}, not matmul`)
  const { m, k, n } = lease.program
  const [a, b] = await fetchInputs(node, relay, lease.inputs)
  const f32 = (bytes: Uint8Array) => new Float32Array(new Uint8Array(bytes).buffer)
  return { a: f32(a!), b: f32(b!), m, k, n }
}

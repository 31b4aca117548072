import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { alignedViewAs, type InputRef, type Lease } from '@tabswarm/protocol'
import { checkInput, relayInputSource } from '@tabswarm/sdk/contributor'

/**
 * How the suites' hand-written work-protocol peers read a lease's inputs: by hash, over the
 * relay's blob protocol, with the SDK's own relay source and input check (a real
 * contributor tries the lease's providers first; these fakes go straight to the relay).
 */
export async function fetchInputs(
  node: Libp2p,
  relay: Multiaddr,
  inputs: readonly InputRef[],
  options: { timeoutMs?: number } = {},
): Promise<Uint8Array[]> {
  const timeoutMs = options.timeoutMs ?? 15_000
  const signal = AbortSignal.timeout(timeoutMs)
  const source = relayInputSource(node, relay)
  return Promise.all(
    inputs.map(async (ref) => {
      const { bytes } = await source.fetch(ref, { signal, timeoutMs })
      await checkInput(ref, bytes, 'the relay')
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
  return { a: alignedViewAs('float32', a!), b: alignedViewAs('float32', b!), m, k, n }
}

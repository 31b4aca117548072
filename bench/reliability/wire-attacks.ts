import { multiaddr } from '@multiformats/multiaddr'
import {
  type Capabilities,
  type Frame,
  packBuffers,
  sendWorkRequest,
  sha256Hex,
  WORK_PROTOCOL,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/protocol'
import { matmulReference } from '@tabswarm/worker-kernels'
import { createNodeSwarmClient } from '../../tests/support/node-swarm-client.ts'
import { fetchMatmulOperands } from './relay-inputs.ts'

const CAPABILITIES: Capabilities = {
  adapter: { vendor: 'wire', architecture: 'cpu', device: '', description: 'crafted frames' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'bench/reliability wire-attacks',
}

/** A peer that speaks the work protocol frame by frame, with headers it writes itself. */
export interface WirePeer {
  peerId: string
  send(request: WorkRequest, payload?: Uint8Array): Promise<Frame<WorkResponse>>
  /** Leases one matmul task; undefined when the relay has none. */
  lease(): Promise<MatmulLease | undefined>
  stop(): Promise<void>
}

export interface MatmulLease {
  leaseId: string
  taskId: string
  /** The right product of the leased tile. */
  right: Float32Array
  shape: [number, number]
}

/** A `result` frame for `leaseId` carrying `output`, built with the protocol's own encoders. */
export async function resultFrame(
  leaseId: string,
  output: Float32Array,
  shape: [number, number],
): Promise<{ request: WorkRequest; payload: Uint8Array }> {
  const { slots, payload } = packBuffers([
    {
      name: 'c',
      dtype: 'float32',
      shape,
      bytes: new Uint8Array(output.buffer, output.byteOffset, output.byteLength),
    },
  ])
  return {
    request: {
      type: 'result',
      leaseId,
      outputs: slots,
      sha256: await sha256Hex(payload),
      elapsedMs: 1,
    },
    payload,
  }
}

/** Connects a fresh libp2p peer to the relay and says hello with CPU capabilities. */
export async function startWirePeer(relayAddr: string): Promise<WirePeer> {
  const node = await createNodeSwarmClient()
  const relay = multiaddr(relayAddr)
  const send = async (request: WorkRequest, payload?: Uint8Array) => {
    const signal = AbortSignal.timeout(15_000)
    const stream = await node.dialProtocol(relay, WORK_PROTOCOL, { signal })
    return sendWorkRequest(stream, request, payload, { signal })
  }
  const hello = await send({ type: 'hello', capabilities: CAPABILITIES })
  if (hello.header.type !== 'hello-ack') throw new Error(`hello answered ${hello.header.type}`)
  return {
    peerId: node.peerId.toString(),
    send,
    async lease() {
      const { header } = await send({ type: 'lease-request' })
      if (header.type !== 'lease') return undefined
      // Inputs by hash over the relay's blob protocol, as a contributor with no peers does.
      const { a, b, m, k, n } = await fetchMatmulOperands(node, relay, header)
      const right = matmulReference(a, b, m, k, n)
      return { leaseId: header.leaseId, taskId: header.taskId, right, shape: [m, n] }
    },
    async stop() {
      await node.stop()
    },
  }
}

/** The outcome a `result-ack` reports, or the response type when it is something else. */
export function outcomeOf(frame: Frame<WorkResponse>): string {
  return frame.header.type === 'result-ack' ? frame.header.outcome : frame.header.type
}

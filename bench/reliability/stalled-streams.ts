import type { Multiaddr } from '@multiformats/multiaddr'
import {
  encodeLengthPrefix,
  MAX_MESSAGE_BYTES,
  WORK_PROTOCOL,
  WorkResponseSchema,
} from '@tabswarm/protocol'
import { createFuzzNode, sendRawCase, type WireOutcome } from './fuzz-wire-client.ts'
import { concat, rawFrame } from './work-fuzz-cases.ts'

/** How long the relay took to end one stream whose peer stopped sending mid-message. */
export interface StalledStream {
  /** Where in the message the peer stopped. */
  where: string
  outcome: WireOutcome['outcome']
  cutAfterMs: number
}

const encoder = new TextEncoder()

/**
 * Peers that stop sending part way through a work message and never close the stream: in
 * the length prefix, in the header, and in the payload of a result that declares 1 MiB.
 * The relay should cut each such stream after a short idle deadline (issue 9, defect 1
 * expects "a few seconds"); this measures when it does, up to `timeoutMs`. Each stall has a
 * peer of its own: a connection's third work stream would be refused at once and measure
 * nothing.
 */
export async function measureStalledStreams(
  relay: Multiaddr,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<StalledStream[]> {
  const header = encoder.encode(JSON.stringify({ type: 'lease-renew', leaseId: 'stalled' }))
  const result = encoder.encode(
    JSON.stringify({
      type: 'result',
      leaseId: 'stalled',
      outputs: [
        {
          name: 'c',
          dtype: 'float32',
          shape: [512, 512],
          byteOffset: 0,
          byteLength: 1 << 20,
        },
      ],
      sha256: '0'.repeat(64),
      elapsedMs: 1,
    }),
  )
  const frame = rawFrame(header)
  const resultPrefix = new Uint8Array(4)
  new DataView(resultPrefix.buffer).setUint32(0, result.byteLength)
  const cases: Array<[string, Uint8Array]> = [
    ['nothing sent', new Uint8Array(0)],
    ['inside the length prefix', Uint8Array.of(0x80)],
    ['inside the header', frame.subarray(0, frame.byteLength - 5)],
    [
      'inside a 1 MiB result payload',
      concat(
        encodeLengthPrefix(4 + result.byteLength + (1 << 20)),
        resultPrefix,
        result,
        new Uint8Array(1024),
      ),
    ],
  ]
  return Promise.all(
    cases.map(async ([where, bytes]) => {
      const node = await createFuzzNode()
      try {
        await node.dial(relay, { signal: AbortSignal.timeout(10_000) })
        const started = performance.now()
        const answer = await sendRawCase(node, relay, WORK_PROTOCOL, bytes, WorkResponseSchema, {
          timeoutMs: options.timeoutMs,
          maxMessageBytes: MAX_MESSAGE_BYTES,
          stall: true,
          ...(options.signal ? { signal: options.signal } : {}),
        })
        return { where, outcome: answer.outcome, cutAfterMs: performance.now() - started }
      } finally {
        await node.stop()
      }
    }),
  )
}

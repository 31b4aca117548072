import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, Stream } from '@libp2p/interface'
import { webSockets } from '@libp2p/websockets'
import type { Multiaddr } from '@multiformats/multiaddr'
import { decodeFrame } from '@tabswarm/protocol'
import { createLibp2p } from 'libp2p'
import type { z } from 'zod'

/** How the relay dealt with one case sent on a stream of its own. */
export type WireOutcome =
  /** A valid response frame that is not an error. */
  | { outcome: 'answered'; type: string; header: Record<string, unknown> }
  /** A typed `error` response naming the problem. */
  | { outcome: 'refused'; code: string; message: string }
  /** The stream was reset or closed without a response: allowed, the relay keeps serving. */
  | { outcome: 'reset'; detail: string }
  /** No response, no reset before the deadline: the relay did not say what was wrong. */
  | { outcome: 'hang'; detail: string }
  /** The stream could not be opened (the protocol refused, the connection gone). */
  | { outcome: 'no-stream'; detail: string }

export type FuzzNode = Libp2p<{
  identify: unknown
  pubsub: ReturnType<ReturnType<typeof gossipsub>>
}>

/** A plain Node libp2p peer (WebSockets, noise, yamux, gossipsub), as a headless worker dials. */
export async function createFuzzNode(): Promise<FuzzNode> {
  return (await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
  })) as unknown as FuzzNode
}

/**
 * Writes `bytes` on a fresh stream of `protocol`, closes its write side, and collects one
 * response frame. Every step is bounded by `timeoutMs`; the stream is always released.
 */
export async function sendRawCase<S extends z.ZodType>(
  node: Libp2p,
  relay: Multiaddr,
  protocol: string,
  bytes: Uint8Array,
  schema: S,
  options: {
    timeoutMs: number
    maxMessageBytes: number
    signal?: AbortSignal
    /** Leave the write side open after the bytes, as a peer that stops mid-message does. @default false */
    stall?: boolean
  },
): Promise<WireOutcome> {
  const deadline = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline
  let stream: Awaited<ReturnType<Libp2p['dialProtocol']>>
  try {
    stream = await node.dialProtocol(relay, protocol, { signal })
  } catch (err) {
    return { outcome: 'no-stream', detail: String(err) }
  }
  const response = collectResponse(stream, signal)
  try {
    try {
      if (bytes.byteLength > 0 && !stream.send(bytes)) await stream.onDrain({ signal })
      if (options.stall !== true) await stream.close({ signal })
    } catch {
      // The relay may refuse and close before the case is fully written: read its answer.
    }
    let frame: Uint8Array
    try {
      frame = await response.frame
    } catch (err) {
      if (deadline.aborted)
        return { outcome: 'hang', detail: `no response or reset within ${options.timeoutMs} ms` }
      return { outcome: 'reset', detail: String(err) }
    }
    if (frame.byteLength > options.maxMessageBytes)
      return { outcome: 'reset', detail: `a ${frame.byteLength}-byte response` }
    try {
      const header = decodeFrame(frame, schema).header as Record<string, unknown>
      if (header.type === 'error')
        return { outcome: 'refused', code: String(header.code), message: String(header.message) }
      return { outcome: 'answered', type: String(header.type), header }
    } catch (err) {
      return { outcome: 'hang', detail: `an invalid response: ${String(err)}` }
    }
  } finally {
    response.release()
    stream.abort(new Error('fuzz case done'))
  }
}

/**
 * Collects the first length-prefixed frame the relay sends, whatever the stream does
 * meanwhile (closes, is reset): it resolves once the frame is whole, rejects when the
 * stream ends first or `signal` fires. Holds at most that one frame (and what came with it).
 */
function collectResponse(stream: Stream, signal: AbortSignal) {
  const chunks: Uint8Array[] = []
  let buffered = 0
  let settle: (() => void) | undefined
  const onEvent = () => settle?.()
  const onMessage = (event: { data: Uint8Array | { subarray(): Uint8Array } }) => {
    const data = event.data.subarray()
    chunks.push(data)
    buffered += data.byteLength
    onEvent()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('remoteCloseWrite', onEvent)
  stream.addEventListener('close', onEvent)
  const whole = () => {
    const all = new Uint8Array(buffered)
    let offset = 0
    for (const chunk of chunks) {
      all.set(chunk, offset)
      offset += chunk.byteLength
    }
    let length = 0
    for (let i = 0; i < Math.min(all.byteLength, 10); i++) {
      length += (all[i]! & 0x7f) * 2 ** (7 * i)
      if ((all[i]! & 0x80) === 0) {
        const end = i + 1 + length
        return end <= all.byteLength ? all.subarray(i + 1, end) : undefined
      }
    }
    return undefined
  }
  const ended = () => stream.status !== 'open' || stream.remoteWriteStatus !== 'writable'
  const frame = new Promise<Uint8Array>((resolve, reject) => {
    const check = () => {
      const got = whole()
      if (got != null) resolve(got)
      else if (signal.aborted) reject(signal.reason)
      else if (ended())
        reject(new Error(`the stream ended after ${buffered} bytes of no whole frame`))
    }
    settle = check
    signal.addEventListener('abort', check, { once: true })
    check()
  })
  frame.catch(() => {})
  return {
    frame,
    release() {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('remoteCloseWrite', onEvent)
      stream.removeEventListener('close', onEvent)
    },
  }
}

import type { Stream } from '@libp2p/interface'
import type { z } from 'zod'
import type { ByteBudget } from './byte-budget.ts'
import { decodeHeader, type Frame, readHeaderLength } from './frame.ts'
import { MAX_MESSAGE_BYTES } from './limits.ts'
import { ProtocolError } from './protocol-error.ts'

/**
 * Reads length-prefixed work frames (`varint length | u32 header length | JSON header |
 * payload`) straight off a libp2p stream, in three steps: the prefixes, then the header,
 * which is validated, then the payload, whose bytes are reserved from a shared budget first.
 *
 * The stream is paused whenever the reader holds what it asked for, so yamux stops opening
 * its receive window and the peer stops sending: a peer never gets bytes into this process
 * beyond the step being read (plus the window already open). `lpStream` cannot do this: it
 * takes every byte as it comes, up to its buffer cap, before the length is even looked at.
 */

/** Bytes of the varint that can encode {@link MAX_MESSAGE_BYTES} (4 for 64 MiB). */
const MAX_LENGTH_BYTES = Math.ceil(Math.log2(MAX_MESSAGE_BYTES + 1) / 7)

/** Encodes `length` as an unsigned varint, the prefix of every frame on the wire. */
export function encodeLengthPrefix(length: number): Uint8Array {
  const out: number[] = []
  let value = length
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80)
    value = Math.floor(value / 0x80)
  }
  out.push(value)
  return Uint8Array.from(out)
}

/**
 * Maps the length errors of `@libp2p/utils`' `lpStream` (data too long, length prefix too
 * long, negative length) to {@link ProtocolError}; anything else comes back as it was.
 */
export function lengthError(err: unknown, limit: number): unknown {
  const name = (err as Error | undefined)?.name
  if (
    name === 'InvalidDataLengthError' ||
    name === 'InvalidDataLengthLengthError' ||
    name === 'InvalidMessageLengthError'
  ) {
    return new ProtocolError('MESSAGE_TOO_LARGE', `frame exceeds ${limit} bytes`, { cause: err })
  }
  return err
}

/** Pulls exact byte counts off a stream, pausing it while nothing is asked for. */
export interface StreamReader {
  /** The next `n` bytes, in one buffer of their own. */
  read(n: number, signal: AbortSignal): Promise<Uint8Array>
  /** Reads and drops the next `n` bytes, holding at most one chunk at a time. */
  skip(n: number, signal: AbortSignal): Promise<void>
  /** Stops listening; unread bytes are dropped. */
  release(): void
}

/** Bytes dropped per step while skipping a payload. */
const SKIP_STEP_BYTES = 64 * 1024

/**
 * What may land in a paused stream's own buffer: the most a yamux peer can send without a
 * window update (yamux's default maximum window), plus a frame. A smaller limit would abort a
 * legitimate fast sender whose window had grown before the pause.
 */
const PAUSED_BUFFER_BYTES = 16 * 1024 * 1024 + 64 * 1024

export interface StreamReaderOptions {
  /**
   * Longest wait for the next bytes while a read is under way; the read then fails with
   * `ProtocolError('STREAM_IDLE')`. Distinct from the caller's overall deadline: a slow
   * upload that keeps making progress is never cut by it, a stalled one is cut in seconds.
   * @default no limit (the caller's signal alone)
   */
  idleTimeoutMs?: number
}

export function createStreamReader(
  stream: Stream,
  options: StreamReaderOptions = {},
): StreamReader {
  const { idleTimeoutMs } = options
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, PAUSED_BUFFER_BYTES)
  const chunks: Uint8Array[] = []
  let buffered = 0
  let wanted = 0
  let wake: (() => void) | undefined
  const notify = () => wake?.()

  const setPaused = (paused: boolean) => {
    if (stream.readStatus === 'closing' || stream.readStatus === 'closed') return
    if (paused) stream.pause()
    else stream.resume()
  }
  const onMessage = (event: { data: Uint8Array | { subarray(): Uint8Array } }) => {
    const data = event.data.subarray()
    chunks.push(data)
    buffered += data.byteLength
    if (buffered >= wanted) setPaused(true)
    notify()
  }
  const ended = () =>
    stream.status !== 'open' ||
    (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0)

  stream.addEventListener('message', onMessage)
  stream.addEventListener('remoteCloseWrite', notify)
  stream.addEventListener('close', notify)
  stream.addEventListener('end', notify)

  /** Resolves once `n` bytes are buffered; throws when the stream ends first. */
  async function fill(n: number, signal: AbortSignal): Promise<void> {
    wanted = n
    while (buffered < n) {
      signal.throwIfAborted()
      if (ended() && buffered < n) {
        throw new ProtocolError(
          'MALFORMED_FRAME',
          `the stream ended after ${buffered} of ${n} expected bytes`,
        )
      }
      const arrived = new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(idle)
          reject(signal.reason)
        }
        const idle =
          idleTimeoutMs == null
            ? undefined
            : setTimeout(() => {
                signal.removeEventListener('abort', onAbort)
                reject(
                  new ProtocolError(
                    'STREAM_IDLE',
                    `no bytes for ${idleTimeoutMs} ms with ${n - buffered} of ${n} still to come: keep sending or close the stream`,
                  ),
                )
              }, idleTimeoutMs)
        signal.addEventListener('abort', onAbort, { once: true })
        wake = () => {
          clearTimeout(idle)
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      })
      setPaused(false)
      await arrived
      wake = undefined
    }
  }

  /** Moves `n` buffered bytes out, into `into` when given. */
  function take(n: number, into?: Uint8Array): void {
    let offset = 0
    while (offset < n) {
      const chunk = chunks[0]!
      const part = Math.min(chunk.byteLength, n - offset)
      into?.set(chunk.subarray(0, part), offset)
      if (part === chunk.byteLength) chunks.shift()
      else chunks[0] = chunk.subarray(part)
      offset += part
    }
    buffered -= n
  }

  return {
    async read(n, signal) {
      await fill(n, signal)
      const out = new Uint8Array(n)
      take(n, out)
      return out
    },
    async skip(n, signal) {
      let left = n
      while (left > 0) {
        await fill(Math.min(left, SKIP_STEP_BYTES), signal)
        const part = Math.min(left, buffered)
        take(part)
        left -= part
      }
    },
    release() {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('remoteCloseWrite', notify)
      stream.removeEventListener('close', notify)
      stream.removeEventListener('end', notify)
      chunks.length = 0
      buffered = 0
    },
  }
}

/** What the reader decides about a header before its payload is read. */
export type PayloadAdmission<R> =
  /** The payload may be up to this many bytes; a larger one is refused unread. */
  | number
  /** Answer with this and drop the payload unread (a result for a lease that is gone). */
  | { answer: R }

export interface ReadFrameOptions<S extends z.ZodType, R> {
  signal: AbortSignal
  /** Largest whole frame. @default MAX_MESSAGE_BYTES */
  maxMessageBytes?: number
  /** Decides on a validated header before a byte of its payload is read. @default any size */
  admit?: (header: z.infer<S>) => PayloadAdmission<R> | Promise<PayloadAdmission<R>>
  /** Where the payload's bytes are reserved before they are read. */
  budget?: ByteBudget
  /** Whose share of `budget` the payload counts against (the peer's id). */
  holder?: string
}

/** A frame read, or the answer `admit` gave in its place; `release` gives its budget back. */
export type ReadFrame<H, R> =
  | { frame: Frame<H>; answer?: undefined; release: () => void }
  | { frame?: undefined; answer: R; release: () => void }

/**
 * Reads one frame. Throws {@link ProtocolError} for a length over the cap, a malformed or
 * invalid header, or a payload the header does not admit, each before the payload is read.
 */
export async function readFrame<S extends z.ZodType, R = never>(
  reader: StreamReader,
  schema: S,
  options: ReadFrameOptions<S, R>,
): Promise<ReadFrame<z.infer<S>, R>> {
  const { signal } = options
  const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES
  let length = 0
  for (let i = 0; ; i++) {
    if (i >= MAX_LENGTH_BYTES) {
      throw new ProtocolError('MESSAGE_TOO_LARGE', `message exceeds ${maxMessageBytes} bytes`)
    }
    const byte = (await reader.read(1, signal))[0]!
    length += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) break
  }
  if (length > maxMessageBytes) {
    throw new ProtocolError(
      'MESSAGE_TOO_LARGE',
      `message is ${length} bytes, max ${maxMessageBytes}`,
    )
  }
  if (length < 4) throw new ProtocolError('MALFORMED_FRAME', 'frame shorter than its length prefix')
  const headerLength = readHeaderLength(await reader.read(4, signal), length)
  const header = decodeHeader(await reader.read(headerLength, signal), schema)
  const payloadLength = length - 4 - headerLength
  const admission = options.admit != null ? await options.admit(header) : Number.POSITIVE_INFINITY
  if (typeof admission === 'object') {
    await reader.skip(payloadLength, signal)
    return { answer: admission.answer, release: () => {} }
  }
  if (payloadLength > admission) {
    const type = (header as { type?: unknown }).type
    throw new ProtocolError(
      'MESSAGE_TOO_LARGE',
      `a ${String(type)} message carries at most ${admission} payload bytes, this one ${payloadLength}`,
    )
  }
  const release = options.budget
    ? await options.budget.acquire(payloadLength, signal, options.holder)
    : () => {}
  try {
    const payload = await reader.read(payloadLength, signal)
    return { frame: { header, payload }, release }
  } catch (err) {
    release()
    throw err
  }
}

/** Writes `frame` with its varint length prefix, waiting for the stream to drain. */
export async function writeFrame(
  stream: Stream,
  frame: Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  stream.send(encodeLengthPrefix(frame.byteLength))
  if (!stream.send(frame)) await stream.onDrain({ signal })
}

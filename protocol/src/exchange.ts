import type { Stream } from '@libp2p/interface'
import type { ByteBudget } from './byte-budget.ts'
import { encodeFrame, type Frame } from './frame.ts'
import {
  createStreamReader,
  type PayloadAdmission,
  readFrame,
  type StreamReader,
  writeFrame,
} from './frame-reader.ts'
import { MAX_TEXT } from './limits.ts'
import {
  type WorkRequest,
  WorkRequestSchema,
  type WorkResponse,
  WorkResponseSchema,
} from './messages.ts'
import { ProtocolError } from './protocol-error.ts'

/**
 * One request, one response per stream: the shape of every exchange on the work protocol.
 * Both sides check the length, then the header, before the payload is read (see
 * `frame-reader.ts`), so an oversized or invalid message is refused without being buffered.
 */

/** Sends one request on a fresh stream and returns the validated response. */
export async function sendWorkRequest(
  stream: Stream,
  request: WorkRequest,
  payload: Uint8Array | undefined,
  options: { signal: AbortSignal },
): Promise<Frame<WorkResponse>> {
  const reader = createStreamReader(stream)
  try {
    await writeFrame(stream, encodeFrame(request, payload), options.signal)
    const { frame } = await readFrame(reader, WorkResponseSchema, { signal: options.signal })
    await stream.close(options)
    // Without `admit` every frame is read in full.
    return frame!
  } catch (err) {
    stream.abort(err as Error)
    throw err
  } finally {
    reader.release()
  }
}

/**
 * What a handler answers: a response header and optional payload, and optionally the frame
 * already encoded from them (`encodeFrame(response, payload)`), when the handler had to
 * encode it anyway (to check that it can be sent), so it is not encoded twice.
 */
export interface WorkReply {
  response: WorkResponse
  payload?: Uint8Array
  encoded?: Uint8Array
}

/** A handler answers one validated request with a response header and optional payload. */
export type WorkRequestHandler = (
  request: Frame<WorkRequest>,
  signal: AbortSignal,
) => Promise<WorkReply>

export interface ServeWorkOptions {
  signal: AbortSignal
  /** Called when the request breaks the protocol; the stream is answered and closed. */
  onProtocolError?: (err: ProtocolError) => void
  /**
   * Decides on a validated request header before its payload is read: the payload bytes it
   * may carry, or an answer given without reading the payload. @default any size
   */
  admit?: (header: WorkRequest) => PayloadAdmission<WorkResponse>
  /** Shared bound on request payloads being read at once. @default unbounded */
  budget?: ByteBudget
  /** Whose share of `budget` this request counts against (the peer's id). @default none */
  holder?: string
  /**
   * Longest silence while the request is being read; the stream is then refused with
   * `STREAM_IDLE`, so a peer that declares a payload and sends nothing frees its share at
   * once. Not a deadline: a slow upload that keeps arriving is read to its end.
   * @default no limit (`signal` alone)
   */
  idleTimeoutMs?: number
  /** Called once a response frame was written, with its type and its length in bytes. */
  onResponseSent?: (type: WorkResponse['type'], bytes: number) => void
}

/**
 * Serves one request on an inbound stream. A protocol violation by the peer is answered
 * with an `error` message when the stream still allows it, then only this stream is
 * closed. A response this side cannot encode is its own fault: it is answered as an
 * internal error and thrown, never reported as the peer's violation.
 */
export async function serveWorkRequest(
  stream: Stream,
  handler: WorkRequestHandler,
  options: ServeWorkOptions,
): Promise<void> {
  const { signal } = options
  const reader = createStreamReader(
    stream,
    options.idleTimeoutMs != null ? { idleTimeoutMs: options.idleTimeoutMs } : {},
  )
  let release = () => {}
  try {
    let reply: WorkReply
    try {
      const read = await readFrame(reader, WorkRequestSchema, {
        signal,
        ...(options.admit ? { admit: options.admit } : {}),
        ...(options.budget ? { budget: options.budget } : {}),
        ...(options.holder != null ? { holder: options.holder } : {}),
      })
      release = read.release
      reply = read.answer != null ? { response: read.answer } : await handler(read.frame, signal)
    } catch (err) {
      if (err instanceof ProtocolError) return await refuse(stream, reader, err, options)
      throw err
    }
    release()
    let encoded: Uint8Array
    try {
      encoded = reply.encoded ?? encodeFrame(reply.response, reply.payload)
    } catch (err) {
      await answerError(stream, 'INTERNAL', 'the response could not be encoded', signal).catch(
        () => {},
      )
      throw new Error(`work response ${reply.response.type} could not be encoded`, { cause: err })
    }
    await writeFrame(stream, encoded, signal)
    options.onResponseSent?.(reply.response.type, encoded.byteLength)
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  } finally {
    release()
    reader.release()
  }
}

/** Reports a peer's violation and answers it on the stream, then closes only that stream. */
async function refuse(
  stream: Stream,
  reader: StreamReader,
  err: ProtocolError,
  options: ServeWorkOptions,
): Promise<void> {
  options.onProtocolError?.(err)
  reader.release()
  // Take (and drop) whatever the peer is still sending, so it can finish writing and read
  // the refusal instead of waiting on a paused stream until its deadline.
  if (stream.readStatus === 'paused') stream.resume()
  void stream.closeRead().catch(() => {})
  try {
    await answerError(stream, err.code, err.message, options.signal)
    await stream.close({ signal: options.signal })
  } catch {
    // The peer may be gone already; aborting is all that is left to do.
    stream.abort(err)
  }
}

function answerError(
  stream: Stream,
  code: string,
  message: string,
  signal: AbortSignal,
): Promise<void> {
  // Cut to what the schema admits, or the peer would refuse the refusal itself.
  const error: WorkResponse = {
    type: 'error',
    code: code.slice(0, 64),
    message: message.slice(0, MAX_TEXT),
  }
  return writeFrame(stream, encodeFrame(error), signal)
}

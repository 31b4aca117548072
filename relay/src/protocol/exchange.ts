import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { z } from 'zod'
import { decodeFrame, encodeFrame, type Frame } from './frame.ts'
import { MAX_MESSAGE_BYTES } from './limits.ts'
import {
  type WorkRequest,
  WorkRequestSchema,
  type WorkResponse,
  WorkResponseSchema,
} from './messages.ts'
import { ProtocolError } from './protocol-error.ts'

/**
 * One request, one response per stream: the shape of every exchange on the work protocol.
 * Both sides cap the frame size before reading it, so an oversized message is refused
 * without being buffered.
 */

function framed(stream: Stream) {
  // A payload may legitimately be tens of MiB; the length prefix is still checked first.
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, MAX_MESSAGE_BYTES + 1024)
  return lpStream(stream, {
    maxDataLength: MAX_MESSAGE_BYTES,
    maxBufferSize: MAX_MESSAGE_BYTES + 1024,
  })
}

async function readFrame<S extends z.ZodType>(
  lp: ReturnType<typeof framed>,
  schema: S,
  signal: AbortSignal,
): Promise<Frame<z.infer<S>>> {
  let bytes: Uint8Array
  try {
    bytes = (await lp.read({ signal })).subarray()
  } catch (err) {
    if (signal.aborted) throw err
    const name = (err as Error).name
    if (name === 'InvalidDataLengthError' || name === 'InvalidMessageLengthError') {
      throw new ProtocolError('MESSAGE_TOO_LARGE', `message exceeds ${MAX_MESSAGE_BYTES} bytes`, {
        cause: err,
      })
    }
    throw err
  }
  return decodeFrame(bytes, schema)
}

/** Sends one request on a fresh stream and returns the validated response. */
export async function sendWorkRequest(
  stream: Stream,
  request: WorkRequest,
  payload: Uint8Array | undefined,
  options: { signal: AbortSignal },
): Promise<Frame<WorkResponse>> {
  const lp = framed(stream)
  try {
    await lp.write(encodeFrame(request, payload), options)
    const response = await readFrame(lp, WorkResponseSchema, options.signal)
    await stream.close(options)
    return response
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** A handler answers one validated request with a response header and optional payload. */
export type WorkRequestHandler = (
  request: Frame<WorkRequest>,
  signal: AbortSignal,
) => Promise<{ response: WorkResponse; payload?: Uint8Array }>

/**
 * Serves one request on an inbound stream. A protocol violation is answered with an
 * `error` message when the stream still allows it, then only this stream is closed.
 */
export async function serveWorkRequest(
  stream: Stream,
  handler: WorkRequestHandler,
  options: { signal: AbortSignal; onProtocolError?: (err: ProtocolError) => void },
): Promise<void> {
  const lp = framed(stream)
  try {
    const request = await readFrame(lp, WorkRequestSchema, options.signal)
    const { response, payload } = await handler(request, options.signal)
    await lp.write(encodeFrame(response, payload), options)
    await stream.close(options)
  } catch (err) {
    if (err instanceof ProtocolError) {
      options.onProtocolError?.(err)
      try {
        await lp.write(
          encodeFrame({ type: 'error', code: err.code, message: err.message }),
          options,
        )
        await stream.close(options)
        return
      } catch {
        // The peer may be gone already; aborting below is all that is left to do.
      }
    }
    stream.abort(err as Error)
    if (!(err instanceof ProtocolError)) throw err
  }
}

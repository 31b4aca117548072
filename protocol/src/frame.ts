import type { z } from 'zod'
import { MAX_HEADER_BYTES, MAX_MESSAGE_BYTES } from './limits.ts'
import { ProtocolError } from './protocol-error.ts'

/**
 * One message = `u32 header length (big-endian) | JSON header | binary payload`.
 * JSON keeps the header readable and schema-checked; tensors travel as raw bytes, never
 * as JSON numbers.
 */
export interface Frame<H> {
  header: H
  payload: Uint8Array
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeFrame(header: object, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = encodeHeader(header)
  const total = checkedTotal(json.byteLength, payload.byteLength)
  const out = new Uint8Array(total)
  new DataView(out.buffer).setUint32(0, json.byteLength)
  out.set(json, 4)
  out.set(payload, 4 + json.byteLength)
  return out
}

/**
 * The length `encodeFrame` would give this header with a payload of `payloadBytes`, without
 * building the frame; throws the same `ProtocolError('MESSAGE_TOO_LARGE')` it would. For
 * deciding whether a message can be sent before committing to it (granting a lease,
 * reporting a result) at the cost of the header alone.
 */
export function encodedFrameLength(header: object, payloadBytes: number): number {
  return checkedTotal(encodeHeader(header).byteLength, payloadBytes)
}

function encodeHeader(header: object): Uint8Array {
  const json = encoder.encode(JSON.stringify(header))
  if (json.byteLength > MAX_HEADER_BYTES) {
    throw new ProtocolError(
      'MESSAGE_TOO_LARGE',
      `header is ${json.byteLength} bytes, max ${MAX_HEADER_BYTES}`,
    )
  }
  return json
}

function checkedTotal(headerBytes: number, payloadBytes: number): number {
  const total = 4 + headerBytes + payloadBytes
  if (total > MAX_MESSAGE_BYTES) {
    throw new ProtocolError(
      'MESSAGE_TOO_LARGE',
      `message is ${total} bytes, max ${MAX_MESSAGE_BYTES}`,
    )
  }
  return total
}

/** Parses and validates one frame. Throws {@link ProtocolError} naming what is wrong. */
export function decodeFrame<S extends z.ZodType>(bytes: Uint8Array, schema: S): Frame<z.infer<S>> {
  if (bytes.byteLength < 4)
    throw new ProtocolError('MALFORMED_FRAME', 'frame shorter than its length prefix')
  const headerLength = readHeaderLength(bytes, bytes.byteLength)
  return {
    header: decodeHeader(bytes.subarray(4, 4 + headerLength), schema),
    payload: bytes.subarray(4 + headerLength),
  }
}

/**
 * Reads the u32 header length at the start of a frame of `frameLength` bytes and checks it
 * against the cap and the frame, before any of the header is read.
 */
export function readHeaderLength(prefix: Uint8Array, frameLength: number): number {
  const headerLength = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0)
  if (headerLength > MAX_HEADER_BYTES) {
    throw new ProtocolError(
      'MESSAGE_TOO_LARGE',
      `header is ${headerLength} bytes, max ${MAX_HEADER_BYTES}`,
    )
  }
  if (4 + headerLength > frameLength) {
    throw new ProtocolError(
      'MALFORMED_FRAME',
      `header length ${headerLength} runs past the frame end`,
    )
  }
  return headerLength
}

/** Parses a frame's JSON header and validates it against `schema`. */
export function decodeHeader<S extends z.ZodType>(json: Uint8Array, schema: S): z.infer<S> {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(json))
  } catch (err) {
    throw new ProtocolError('MALFORMED_FRAME', 'header is not valid UTF-8 JSON', { cause: err })
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue?.path.length ? issue.path.join('.') : 'message'
    throw new ProtocolError('INVALID_MESSAGE', `${where}: ${issue?.message ?? 'invalid'}`)
  }
  return parsed.data
}

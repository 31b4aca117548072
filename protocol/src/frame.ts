import type { z } from 'zod'
import { elementCount, tensorByteLength } from './dtypes.ts'
import { MAX_HEADER_BYTES, MAX_MESSAGE_BYTES } from './limits.ts'
import type { TensorSlot } from './messages.ts'
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

/** Lays tensors out back to back in one payload and returns their slots. */
export function packTensors(
  tensors: ReadonlyArray<{ name: string; shape: number[]; data: Float32Array }>,
): { slots: TensorSlot[]; payload: Uint8Array } {
  const total = tensors.reduce((sum, t) => sum + t.data.byteLength, 0)
  const payload = new Uint8Array(total)
  const slots: TensorSlot[] = []
  let offset = 0
  for (const t of tensors) {
    payload.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offset)
    slots.push({
      name: t.name,
      dtype: 'float32',
      shape: t.shape,
      byteOffset: offset,
      byteLength: t.data.byteLength,
    })
    offset += t.data.byteLength
  }
  return { slots, payload }
}

/**
 * Checks a slot against its payload (size matches shape, lies inside the payload) and
 * returns an aligned copy-free view when possible, a copy otherwise.
 */
export function readTensor(payload: Uint8Array, slot: TensorSlot): Float32Array {
  const elements = elementCount(slot.shape)
  const expected = tensorByteLength(slot.shape, slot.dtype)
  if (slot.byteLength !== expected) {
    throw new ProtocolError(
      'PAYLOAD_MISMATCH',
      `tensor ${slot.name}: shape [${slot.shape.join(', ')}] needs ${expected} bytes, slot says ${slot.byteLength}`,
    )
  }
  if (slot.byteOffset + slot.byteLength > payload.byteLength) {
    throw new ProtocolError(
      'PAYLOAD_MISMATCH',
      `tensor ${slot.name} ends at byte ${slot.byteOffset + slot.byteLength}, payload has ${payload.byteLength}`,
    )
  }
  const start = payload.byteOffset + slot.byteOffset
  if (start % 4 === 0) return new Float32Array(payload.buffer, start, elements)
  return new Float32Array(
    new Uint8Array(payload.subarray(slot.byteOffset, slot.byteOffset + slot.byteLength)).buffer,
  )
}

import { describe, expect, it } from 'vitest'
import { packBuffers, readBuffer } from './buffer-slots.ts'
import { decodeFrame, encodeFrame } from './frame.ts'
import { MAX_HEADER_BYTES } from './limits.ts'
import { WorkRequestSchema } from './messages.ts'

describe('work protocol frames', () => {
  it('round-trips a header and tensors', () => {
    const c = Float32Array.from([1, 2, 3, 4, 5, 6])
    const { slots, payload } = packBuffers([
      { name: 'c', dtype: 'float32', shape: [2, 3], bytes: new Uint8Array(c.buffer) },
    ])
    const header = {
      type: 'result',
      leaseId: 'abc',
      outputs: slots,
      sha256: 'a'.repeat(64),
      elapsedMs: 3,
    }
    const frame = decodeFrame(encodeFrame(header, payload), WorkRequestSchema)
    expect(frame.header).toEqual(header)
    expect(new Float32Array(readBuffer(frame.payload, slots[0]!).buffer)).toEqual(c)
  })

  it('rejects frames that are not JSON, too short, or lie about their header length', () => {
    const bad = new Uint8Array([0, 0, 0, 3, 0x7b, 0x7b, 0x7b])
    expect(() => decodeFrame(bad, WorkRequestSchema)).toThrow(/not valid UTF-8 JSON/)
    expect(() => decodeFrame(new Uint8Array(2), WorkRequestSchema)).toThrow(
      /shorter than its length prefix/,
    )
    expect(() => decodeFrame(new Uint8Array([0, 0, 0, 9, 1]), WorkRequestSchema)).toThrow(
      /runs past the frame end/,
    )
    const huge = new Uint8Array(8)
    new DataView(huge.buffer).setUint32(0, MAX_HEADER_BYTES + 1)
    expect(() => decodeFrame(huge, WorkRequestSchema)).toThrow(/header is \d+ bytes, max/)
  })

  it('names the invalid field of a schema violation', () => {
    const frame = encodeFrame({
      type: 'result',
      leaseId: 'has spaces',
      outputs: [{}],
      sha256: 'x',
      elapsedMs: -1,
    })
    expect(() => decodeFrame(frame, WorkRequestSchema)).toThrow(/leaseId: ids are 1-64 characters/)
    expect(() => decodeFrame(encodeFrame({ type: 'launch-missiles' }), WorkRequestSchema)).toThrow(
      /INVALID|type/,
    )
  })

  it('refuses a buffer slot that does not match its shape or runs past the payload', () => {
    const payload = new Uint8Array(16)
    const slot = {
      name: 'c',
      dtype: 'float32' as const,
      shape: [2, 2],
      byteOffset: 0,
      byteLength: 16,
    }
    expect(readBuffer(payload, slot)).toHaveLength(16)
    expect(() => readBuffer(payload, { ...slot, byteLength: 12 })).toThrow(
      /needs 16 bytes, slot says 12/,
    )
    expect(() => readBuffer(payload, { ...slot, byteOffset: 4 })).toThrow(
      /ends at byte 20, payload has 16/,
    )
  })
})

import type { BlobReader } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { blobResponseStream } from './blob-response-stream.ts'

/** A reader over `bytes` that records its reads and whether it was closed. */
function recordingReader(bytes: Uint8Array, failAt?: number) {
  const reads: number[] = []
  let closed = 0
  const reader: BlobReader = {
    size: bytes.byteLength,
    read(offset, length) {
      if (failAt != null && offset >= failAt) throw new Error('disk gone')
      reads.push(length)
      return bytes.slice(offset, offset + length)
    },
    close() {
      closed++
    },
  }
  return { reader, reads, closed: () => closed }
}

describe('blobResponseStream', () => {
  it('streams a blob in bounded chunks and closes the reader once at the end', async () => {
    const bytes = new Uint8Array(2.5 * 1024 * 1024).map((_, i) => i % 251)
    const { reader, reads, closed } = recordingReader(bytes)
    const body = new Uint8Array(await new Response(blobResponseStream(reader)).arrayBuffer())
    expect(body).toEqual(bytes)
    expect(reads).toEqual([1024 * 1024, 1024 * 1024, 0.5 * 1024 * 1024])
    expect(closed()).toBe(1)
  })

  it('reads nothing ahead of a client that has not asked', async () => {
    const { reader, reads } = recordingReader(new Uint8Array(8 * 1024 * 1024))
    const stream = blobResponseStream(reader)
    await new Promise((resolve) => setTimeout(resolve, 10))
    // highWaterMark 1: at most one chunk is buffered before the first read.
    expect(reads.length).toBeLessThanOrEqual(1)
    await stream.cancel()
  })

  it('fails the body when a read fails, and closes the reader', async () => {
    const { reader, closed } = recordingReader(new Uint8Array(3 * 1024 * 1024), 1024 * 1024)
    await expect(new Response(blobResponseStream(reader)).arrayBuffer()).rejects.toThrow(
      'disk gone',
    )
    expect(closed()).toBe(1)
  })

  it('closes the reader when the client goes away', async () => {
    const { reader, closed } = recordingReader(new Uint8Array(3 * 1024 * 1024))
    const stream = blobResponseStream(reader)
    const chunks = stream.getReader()
    await chunks.read()
    await chunks.cancel()
    expect(closed()).toBe(1)
  })
})

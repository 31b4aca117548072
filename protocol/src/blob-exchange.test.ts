import { lpStream, streamPair } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { bytesReader, memoryBlobSource, requestBlob, serveBlobRequest } from './blob-exchange.ts'
import {
  BlobResponseSchema,
  DEFAULT_BLOB_CHUNK_BYTES,
  MAX_BLOB_BYTES,
  MAX_BLOB_CHUNK_BYTES,
  MAX_BLOB_HEADER_BYTES,
} from './blob-messages.ts'
import { decodeFrame, encodeFrame } from './frame.ts'
import type { ProtocolError } from './protocol-error.ts'
import { sha256Hex } from './sha256.ts'

function bytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

const signal = () => AbortSignal.timeout(10_000)

describe('blob exchange', () => {
  it('streams a multi-chunk blob in 1 MiB frames and verifies its hash', async () => {
    const blob = bytes(2 * 1024 * 1024 + 3 * 256 * 1024 + 17)
    const hash = await sha256Hex(blob)
    const [client, server] = await streamPair()
    let served = 0
    const serving = serveBlobRequest(
      server,
      memoryBlobSource({ get: (h) => (h === hash ? blob : undefined) }),
      {
        signal: signal(),
        onServed: (_h, n) => {
          served = n
        },
      },
    )
    const progress: number[] = []
    const got = await requestBlob(client, hash, {
      signal: signal(),
      onProgress: (received) => progress.push(received),
    })
    await serving
    expect(got).toEqual(blob)
    // One buffer of exactly the blob's size, not a view into something larger.
    expect(got.byteOffset).toBe(0)
    expect(got.buffer.byteLength).toBe(blob.byteLength)
    expect(served).toBe(blob.byteLength)
    // Default frames are the largest receivers accept: 2 full ones and the rest.
    expect(DEFAULT_BLOB_CHUNK_BYTES).toBe(MAX_BLOB_CHUNK_BYTES)
    expect(progress).toEqual([1024 * 1024, 2 * 1024 * 1024, blob.byteLength])
  })

  it('assembles a blob from many small frames, whatever chunk size the server picked', async () => {
    const blob = bytes(100_003, 7)
    const hash = await sha256Hex(blob)
    const [client, server] = await streamPair()
    const serving = serveBlobRequest(
      server,
      memoryBlobSource({ get: (h) => (h === hash ? blob : undefined) }),
      { signal: signal(), chunkBytes: 1000 },
    )
    const progress: number[] = []
    const got = await requestBlob(client, hash, {
      signal: signal(),
      onProgress: (received) => progress.push(received),
    })
    await serving
    expect(got).toEqual(blob)
    expect(progress.length).toBe(101)
  })

  it('refuses a multi-frame blob with one wrong byte in its last frame', async () => {
    const blob = bytes(3 * 1024 * 1024 + 5, 3)
    const hash = await sha256Hex(blob)
    const wrong = blob.slice()
    wrong[wrong.length - 1]! ^= 1
    const [client, server] = await streamPair()
    const serving = serveBlobRequest(
      server,
      memoryBlobSource({ get: (h) => (h === hash ? wrong : undefined) }),
      { signal: signal() },
    )
    await expect(requestBlob(client, hash, { signal: signal() })).rejects.toMatchObject({
      code: 'HASH_MISMATCH',
    })
    await serving.catch(() => {})
  })

  it('reports a blob the server does not hold', async () => {
    const [client, server] = await streamPair()
    const serving = serveBlobRequest(server, memoryBlobSource({ get: () => undefined }), {
      signal: signal(),
    })
    await expect(requestBlob(client, 'a'.repeat(64), { signal: signal() })).rejects.toMatchObject({
      name: 'BlobFetchError',
      code: 'NOT_FOUND',
    })
    await serving
  })

  it('refuses bytes that do not hash to the blob asked for', async () => {
    const blob = bytes(100_000)
    const hash = await sha256Hex(blob)
    const forged = bytes(100_000, 2)
    const [client, server] = await streamPair()
    const serving = serveBlobRequest(server, memoryBlobSource({ get: () => forged }), {
      signal: signal(),
    })
    await expect(requestBlob(client, hash, { signal: signal() })).rejects.toMatchObject({
      code: 'HASH_MISMATCH',
      message: expect.stringContaining(hash),
    })
    await serving.catch(() => {})
  })

  it('refuses a blob larger than the caller accepts before reading it', async () => {
    const blob = bytes(64 * 1024)
    const hash = await sha256Hex(blob)
    const [client, server] = await streamPair()
    const serving = serveBlobRequest(server, memoryBlobSource({ get: () => blob }), {
      signal: signal(),
    })
    await expect(
      requestBlob(client, hash, { signal: signal(), maxBytes: 1024 }),
    ).rejects.toMatchObject({ code: 'TOO_LARGE' })
    await serving.catch(() => {})
  })

  it('refuses chunks that run past the announced size, and a stream that ends early', async () => {
    for (const [sizes, announced] of [
      [[6, 6], 10],
      [[4], 10],
    ] as const) {
      const [client, server] = await streamPair()
      const lp = lpStream(server)
      void lp.read().then(async () => {
        await lp.write(encodeFrame({ type: 'blob', hash: 'd'.repeat(64), size: announced }))
        for (const n of sizes) await lp.write(new Uint8Array(n))
        await server.close()
      })
      await expect(requestBlob(client, 'd'.repeat(64), { signal: signal() })).rejects.toMatchObject(
        { code: 'TRUNCATED' },
      )
    }
  })

  it('fails a stalled transfer after the idle timeout', async () => {
    const [client, server] = await streamPair()
    // Announce a blob, then never send it.
    const lp = lpStream(server)
    void lp
      .read()
      .then(() => lp.write(encodeFrame({ type: 'blob', hash: 'b'.repeat(64), size: 10 })))
    await expect(
      requestBlob(client, 'b'.repeat(64), { signal: signal(), idleTimeoutMs: 200 }),
    ).rejects.toMatchObject({ code: 'TIMEOUT' })
  })

  it('refuses a length prefix longer than any header before reading the body', async () => {
    const [client, server] = await streamPair()
    const violations: ProtocolError[] = []
    const serving = serveBlobRequest(server, memoryBlobSource({ get: () => undefined }), {
      signal: signal(),
      onProtocolError: (err) => violations.push(err),
    })
    // Varint 16384: three length bytes where a 4 KiB cap needs at most two.
    client.send(Uint8Array.from([0x80, 0x80, 0x01, 1, 2, 3]))
    const lp = lpStream(client)
    const answer = decodeFrame((await lp.read()).subarray(), BlobResponseSchema).header
    await serving
    expect(answer).toMatchObject({ type: 'error', code: 'MESSAGE_TOO_LARGE' })
    expect(violations).toHaveLength(1)
  })

  it('answers a malformed request with an error and closes only that stream', async () => {
    for (const bad of [
      new TextEncoder().encode('{{{ not a frame'),
      encodeFrame({ type: 'get', hash: 'not-a-hash' }),
      encodeFrame({ type: 'put', hash: 'a'.repeat(64) }),
      new Uint8Array(MAX_BLOB_HEADER_BYTES + 1),
    ]) {
      const [client, server] = await streamPair()
      const violations: ProtocolError[] = []
      const serving = serveBlobRequest(server, memoryBlobSource({ get: () => undefined }), {
        signal: signal(),
        onProtocolError: (err) => violations.push(err),
      })
      const lp = lpStream(client, { maxDataLength: 1 << 20 })
      await lp.write(bad)
      const answer = decodeFrame((await lp.read()).subarray(), BlobResponseSchema).header
      await serving
      expect(answer.type).toBe('error')
      expect(violations).toHaveLength(1)
      expect(violations[0]!.code).toMatch(/MALFORMED_FRAME|INVALID_MESSAGE|MESSAGE_TOO_LARGE/)
    }
  })

  it('reads the blob from its source a chunk at a time, and closes the source', async () => {
    const blob = bytes(600_000)
    const hash = await sha256Hex(blob)
    const reads: number[] = []
    let closed = false
    const [client, server] = await streamPair()
    const serving = serveBlobRequest(
      server,
      {
        open: () => ({
          size: blob.byteLength,
          read: (offset: number, length: number) => {
            reads.push(length)
            return blob.slice(offset, offset + length)
          },
          close: () => {
            closed = true
          },
        }),
      },
      { signal: signal(), chunkBytes: 256 * 1024 },
    )
    expect(await requestBlob(client, hash, { signal: signal() })).toEqual(blob)
    await serving
    expect(reads).toEqual([256 * 1024, 256 * 1024, 600_000 - 512 * 1024])
    expect(closed).toBe(true)
  })

  it('refuses to serve a blob larger than the protocol carries', async () => {
    const [client, server] = await streamPair()
    const huge = { ...bytesReader(new Uint8Array(0)), size: MAX_BLOB_BYTES + 1 }
    const serving = serveBlobRequest(server, { open: () => huge }, { signal: signal() })
    await expect(requestBlob(client, 'c'.repeat(64), { signal: signal() })).rejects.toMatchObject({
      code: 'REMOTE_ERROR',
      message: expect.stringMatching(/TOO_LARGE: blob c{64} is \d+ bytes, more than/),
    })
    await serving
  })

  it('gives a peer that sends no request a short budget, not the transfer budget', async () => {
    const [, server] = await streamPair()
    const started = performance.now()
    await expect(
      serveBlobRequest(server, memoryBlobSource({ get: () => undefined }), {
        signal: AbortSignal.timeout(60_000),
        requestTimeoutMs: 200,
      }),
    ).rejects.toThrow(/no blob request within 200 ms/)
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})

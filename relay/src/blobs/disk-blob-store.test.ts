import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../store/sqlite-store.ts'
import { createDiskBlobStore } from './disk-blob-store.ts'
import { createTieredBlobStore } from './tiered-blob-store.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'blobs-'))
  dirs.push(dir)
  return dir
}

describe('blob stores', () => {
  it('keeps blobs under their sha-256, never lets a malformed hash near a path, and clears crash leftovers', () => {
    const dir = temp()
    const blobs = createDiskBlobStore({ dir })
    const { hash, size } = blobs.put(new Uint8Array([1, 2, 3]))
    expect(hash).toBe('039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81')
    expect(size).toBe(3)
    expect(blobs.get(hash)).toEqual(new Uint8Array([1, 2, 3]))
    expect(blobs.get('../../etc/passwd')).toBeUndefined()
    expect(blobs.has(`${hash.slice(0, 63)}/`)).toBe(false)
    writeFileSync(join(dir, 'tmp', 'half-written'), 'x')
    const reopened = createDiskBlobStore({ dir })
    expect(readdirSync(join(dir, 'tmp'))).toEqual([])
    expect(reopened.bytesUsed).toBe(3)
  })

  it('opens a blob for chunked reads without loading the file', async () => {
    const blobs = createDiskBlobStore({ dir: temp() })
    const bytes = new Uint8Array(100_000).map((_, i) => i & 255)
    const { hash } = blobs.put(bytes)
    const reader = await blobs.open(hash)
    expect(reader?.size).toBe(100_000)
    expect(await reader!.read(99_990, 10)).toEqual(bytes.subarray(99_990))
    expect(await reader!.read(0, 4)).toEqual(Uint8Array.from([0, 1, 2, 3]))
    await expect(reader!.read(99_999, 2)).rejects.toMatchObject({ code: 'TRUNCATED' })
    await reader!.close?.()
    expect(await blobs.open('f'.repeat(64))).toBeUndefined()
    expect(await blobs.open('../../etc/passwd')).toBeUndefined()
  })

  it('puts small blobs in the store and large ones in files, and finds both by hash', () => {
    const store = createSqliteStore({ path: ':memory:' })
    const dir = temp()
    const blobs = createTieredBlobStore({
      store,
      large: createDiskBlobStore({ dir }),
      inlineMaxBytes: 4,
    })
    const small = blobs.put(new Uint8Array([9, 9]))
    const large = blobs.put(new Uint8Array([1, 2, 3, 4, 5]))
    expect(store.hasBlob(small.hash)).toBe(true)
    expect(readdirSync(dir)).toContain(large.hash)
    expect(blobs.get(small.hash)).toEqual(new Uint8Array([9, 9]))
    expect(blobs.get(large.hash)).toEqual(new Uint8Array([1, 2, 3, 4, 5]))
    expect(blobs.bytesUsed).toBe(7)
    store.close()
  })

  it('sends small blobs to files once the inline capacity is used', () => {
    const store = createSqliteStore({ path: ':memory:' })
    const dir = temp()
    const blobs = createTieredBlobStore({
      store,
      large: createDiskBlobStore({ dir }),
      inlineMaxBytes: 4,
      inlineCapacityBytes: 5,
    })
    const first = blobs.put(new Uint8Array([1, 1, 1]))
    const second = blobs.put(new Uint8Array([2, 2, 2]))
    expect(store.hasBlob(first.hash)).toBe(true)
    expect(store.hasBlob(second.hash)).toBe(false)
    expect(readdirSync(dir)).toContain(second.hash)
    expect(blobs.get(second.hash)).toEqual(new Uint8Array([2, 2, 2]))
    expect(blobs.bytesUsed).toBe(6)
    store.close()
  })

  it('opens small and large blobs alike', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const blobs = createTieredBlobStore({
      store,
      large: createDiskBlobStore({ dir: temp() }),
      inlineMaxBytes: 4,
    })
    const small = blobs.put(new Uint8Array([9, 9]))
    const large = blobs.put(new Uint8Array([1, 2, 3, 4, 5]))
    const readers = [await blobs.open(small.hash), await blobs.open(large.hash)]
    expect(await readers[0]!.read(0, 2)).toEqual(new Uint8Array([9, 9]))
    expect(await readers[1]!.read(1, 3)).toEqual(new Uint8Array([2, 3, 4]))
    await readers[1]!.close?.()
    store.close()
  })

  it('streams a put to a temp file, renames it under its hash, and leaves nothing when the source fails', async () => {
    const dir = temp()
    const blobs = createDiskBlobStore({ dir })
    const parts = [new Uint8Array([1, 2]), new Uint8Array([3])]
    const stream = (chunks: Uint8Array[], fail?: Error) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk)
          if (fail) controller.error(fail)
          else controller.close()
        },
      })
    const { hash, size } = await blobs.putStream(stream(parts))
    expect(hash).toBe('039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81')
    expect(size).toBe(3)
    expect(blobs.get(hash)).toEqual(new Uint8Array([1, 2, 3]))
    await expect(blobs.putStream(stream(parts, new Error('client went away')))).rejects.toThrow(
      'client went away',
    )
    await expect(blobs.putStream(stream(parts), { maxBytes: 2 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    })
    // A source that stops sending is cut at the deadline, not waited on.
    const stalled = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new Uint8Array(1)) })
    await expect(blobs.putStream(stalled, { timeoutMs: 50 })).rejects.toMatchObject({
      name: 'TimeoutError',
    })
    const paused = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new Uint8Array(1)) })
    await expect(blobs.putStream(paused, { idleTimeoutMs: 50 })).rejects.toMatchObject({
      name: 'TimeoutError',
      message: 'no bytes for 50 ms',
    })
    expect(readdirSync(join(dir, 'tmp'))).toEqual([])
    expect(blobs.bytesUsed).toBe(3)
  })

  it('keeps a small streamed blob inline and streams a large one to disk', async () => {
    const dir = temp()
    const store = createSqliteStore({ path: join(dir, 'db.sqlite') })
    const blobs = createTieredBlobStore({
      store,
      large: createDiskBlobStore({ dir: join(dir, 'large') }),
      inlineMaxBytes: 4,
    })
    const chunked = (n: number) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < n; i++) controller.enqueue(new Uint8Array([i]))
          controller.close()
        },
      })
    const small = await blobs.putStream(chunked(3))
    expect(store.hasBlob(small.hash)).toBe(true)
    const large = await blobs.putStream(chunked(9))
    expect(large.size).toBe(9)
    expect(store.hasBlob(large.hash)).toBe(false)
    expect(blobs.get(large.hash)).toEqual(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8]))
    store.close()
  })
})

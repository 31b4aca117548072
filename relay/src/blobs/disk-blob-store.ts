import { createHash, randomUUID } from 'node:crypto'
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { open as openFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { type BlobStore, BlobStoreError } from './blob-store.ts'
import { readChunks } from './read-chunks.ts'
import { sha256HexSync } from './sha256-hex.ts'

export interface DiskBlobStoreOptions {
  /** Directory that holds one file per blob, named by its sha-256. */
  dir: string
  /** Total bytes held before `put` refuses. @default 64 GiB */
  capacityBytes?: number
  /** fsync each blob before it becomes visible (survives power loss, not only crashes). @default false */
  fsync?: boolean
}

const HASH = /^[0-9a-f]{64}$/

/** Refuses anything but 64 lower-case hex characters before it can touch a path. */
export function assertBlobHash(hash: string): void {
  if (!HASH.test(hash))
    throw new BlobStoreError(
      `blob hashes are 64 lower-case hex characters, got "${hash.slice(0, 80)}"`,
      {
        code: 'BAD_HASH',
      },
    )
}

/**
 * Blobs on disk under `dir/<hash>`, written to `dir/tmp/` first and renamed into place, so
 * a crash leaves either the whole blob or none of it under its name.
 */
export function createDiskBlobStore(options: DiskBlobStoreOptions): BlobStore {
  const { dir } = options
  const capacity = options.capacityBytes ?? 64 * 1024 ** 3
  const tmp = join(dir, 'tmp')
  mkdirSync(tmp, { recursive: true })
  // Leftovers of writes a crash interrupted.
  for (const name of readdirSync(tmp)) rmSync(join(tmp, name), { force: true })
  let used = 0
  for (const name of readdirSync(dir)) if (HASH.test(name)) used += statSync(join(dir, name)).size

  // A malformed hash names no blob: it never reaches a path.
  const has = (hash: string) => {
    if (!HASH.test(hash)) return false
    try {
      return statSync(join(dir, hash)).isFile()
    } catch {
      return false
    }
  }

  const full = () =>
    new BlobStoreError(`blob store is full (${used} of ${capacity} bytes used)`, {
      code: 'STORE_FULL',
    })

  return {
    async putStream(source, streamOptions) {
      const path = join(tmp, randomUUID())
      const file = await openFile(path, 'wx')
      const hasher = createHash('sha256')
      let size = 0
      let kept = false
      try {
        for await (const chunk of readChunks(source, streamOptions)) {
          size += chunk.byteLength
          if (used + size > capacity) throw full()
          hasher.update(chunk)
          let written = 0
          while (written < chunk.byteLength)
            written += (await file.write(chunk, written, chunk.byteLength - written)).bytesWritten
        }
        if (options.fsync) await file.sync()
        await file.close()
        const hash = hasher.digest('hex')
        if (has(hash)) return { hash, size }
        await rename(path, join(dir, hash))
        kept = true
        used += size
        return { hash, size }
      } finally {
        // Closing twice is harmless; the temp file goes unless it became the blob.
        await file.close().catch(() => {})
        if (!kept) await rm(path, { force: true })
      }
    },
    put(bytes) {
      const hash = sha256HexSync(bytes)
      if (has(hash)) return { hash, size: bytes.byteLength }
      if (used + bytes.byteLength > capacity) throw full()
      const path = join(tmp, randomUUID())
      const fd = openSync(path, 'wx')
      try {
        let written = 0
        while (written < bytes.byteLength) written += writeSync(fd, bytes, written)
        if (options.fsync) fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(path, join(dir, hash))
      used += bytes.byteLength
      return { hash, size: bytes.byteLength }
    },
    get(hash) {
      if (!HASH.test(hash)) return undefined
      try {
        return new Uint8Array(readFileSync(join(dir, hash)))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    async open(hash) {
      if (!HASH.test(hash)) return undefined
      let file: Awaited<ReturnType<typeof openFile>>
      try {
        file = await openFile(join(dir, hash), 'r')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
      let size: number
      try {
        size = (await file.stat()).size
      } catch (err) {
        await file.close()
        throw err
      }
      return {
        size,
        async read(offset, length) {
          // A fresh buffer per chunk: the stream may still hold the last one while it is sent.
          const chunk = new Uint8Array(length)
          let done = 0
          while (done < length) {
            const { bytesRead } = await file.read(chunk, done, length - done, offset + done)
            if (bytesRead === 0) {
              throw new BlobStoreError(
                `blob ${hash} ends at byte ${offset + done}, its size was ${size}`,
                { code: 'TRUNCATED' },
              )
            }
            done += bytesRead
          }
          return chunk
        },
        close: () => file.close(),
      }
    },
    has,
    get bytesUsed() {
      return used
    },
  }
}

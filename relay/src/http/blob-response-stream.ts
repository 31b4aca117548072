import type { BlobReader } from '@tabswarm/protocol'

/** Bytes read per pull: large enough to keep a socket busy, small enough to bound memory. */
const CHUNK_BYTES = 1024 * 1024

/**
 * A response body over a blob reader: each chunk is read when the client is ready for it
 * (the stream pulls), and the reader is closed when the body ends, fails or is cancelled.
 */
export function blobResponseStream(reader: BlobReader): ReadableStream<Uint8Array<ArrayBuffer>> {
  let offset = 0
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await reader.close?.()
  }
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      async pull(controller) {
        try {
          if (offset >= reader.size) {
            await close()
            controller.close()
            return
          }
          const length = Math.min(CHUNK_BYTES, reader.size - offset)
          const chunk = await reader.read(offset, length)
          offset += length
          controller.enqueue(chunk as Uint8Array<ArrayBuffer>)
        } catch (err) {
          await close().catch(() => {})
          controller.error(err)
        }
      },
      cancel: close,
    },
    { highWaterMark: 1 },
  )
}

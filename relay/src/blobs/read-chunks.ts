import { BlobStoreError } from './blob-store.ts'

export interface ReadChunksOptions {
  /** Stops reading (and cancels the source) when aborted. */
  signal?: AbortSignal
  /** Bytes past which the source is refused with `PAYLOAD_TOO_LARGE`. @default no limit */
  maxBytes?: number
  /** How long the whole read may take. @default 10 minutes */
  timeoutMs?: number
  /**
   * How long the source may send nothing before it is cut: a client that stalls must not
   * hold an upload slot until the whole deadline. @default 30 s
   */
  idleTimeoutMs?: number
}

/** The default deadline of a streamed put: 256 MiB at well under 1 MB/s. */
export const STREAM_PUT_TIMEOUT_MS = 10 * 60_000

/** The default pause allowed between two chunks of a streamed put. */
export const STREAM_PUT_IDLE_MS = 30_000

/**
 * The chunks of a byte stream, one at a time, never more: what a streaming `putStream`
 * hashes and writes. Aborting (or the deadline) cancels the source even while a read is
 * pending, so a client that stops sending cannot hold a reader forever.
 */
export async function* readChunks(
  source: ReadableStream<Uint8Array>,
  options: ReadChunksOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY
  const idleMs = options.idleTimeoutMs ?? STREAM_PUT_IDLE_MS
  const deadline = AbortSignal.timeout(options.timeoutMs ?? STREAM_PUT_TIMEOUT_MS)
  const idle = new AbortController()
  const signal = AbortSignal.any([
    deadline,
    idle.signal,
    ...(options.signal ? [options.signal] : []),
  ])
  let idleTimer: ReturnType<typeof setTimeout> | undefined
  const reader = source.getReader()
  const onAbort = () => {
    reader.cancel(signal.reason).catch(() => {})
  }
  signal.addEventListener('abort', onAbort, { once: true })
  let finished = false
  let total = 0
  try {
    for (;;) {
      signal.throwIfAborted()
      idleTimer = setTimeout(
        () => idle.abort(new DOMException(`no bytes for ${idleMs} ms`, 'TimeoutError')),
        idleMs,
      )
      const { done, value } = await reader.read()
      clearTimeout(idleTimer)
      // Cancelling ends a pending read as if the stream were done: the abort is the answer.
      signal.throwIfAborted()
      if (done) {
        finished = true
        return
      }
      total += value.byteLength
      if (total > maxBytes)
        throw new BlobStoreError(
          `the blob is larger than ${maxBytes} bytes; split it into smaller blobs`,
          { code: 'PAYLOAD_TOO_LARGE' },
        )
      yield value
    }
  } finally {
    clearTimeout(idleTimer)
    signal.removeEventListener('abort', onAbort)
    if (!finished) await reader.cancel().catch(() => {})
    reader.releaseLock()
  }
}

/** A stream of `head` then the rest of `tail`: how a store hands a peeked-at stream on. */
export function prependChunks(
  head: Uint8Array[],
  tail: AsyncIterator<Uint8Array, void, undefined>,
): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = head[i]
      if (chunk !== undefined) {
        head[i++] = new Uint8Array(0)
        controller.enqueue(chunk)
        return
      }
      const next = await tail.next()
      if (next.done) controller.close()
      else controller.enqueue(next.value)
    },
    async cancel() {
      await tail.return?.()
    },
  })
}

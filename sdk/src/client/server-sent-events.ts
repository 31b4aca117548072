import { TabswarmError } from '@tabswarm/protocol'

/** One server-sent event. */
export interface ServerSentEvent {
  event: string
  data: string
  /** The `id:` field, when the event has one: the cursor to resume from (Last-Event-ID). */
  id?: string
}

/** An event stream carried nothing, not even a heartbeat, for longer than allowed. */
export class EventStreamIdleError extends TabswarmError {
  override name = 'EventStreamIdleError' as const
  constructor(idleMs: number) {
    super(`the event stream was silent for ${idleMs} ms`, { code: 'STREAM_IDLE' })
  }
}

export interface ReadServerSentEventsOptions {
  /**
   * Throw `EventStreamIdleError` (and cancel the body) when no bytes arrive for this long.
   * Heartbeat comments count: they exist to tell a quiet stream from a dead one.
   * @default no limit
   */
  idleTimeoutMs?: number | undefined
  /** Ends the iteration with the signal's reason, even if the body itself does not notice. */
  signal?: AbortSignal | undefined
}

/**
 * Parses a `text/event-stream` body into events. The fetch body is read chunk by chunk, so
 * a long-lived stream costs constant memory; aborting the fetch ends the iteration, and so
 * does a silence longer than `idleTimeoutMs` (a half-open connection never ends on its own).
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
  options: ReadServerSentEventsOptions = {},
): AsyncGenerator<ServerSentEvent> {
  const reader = body
    .pipeThrough(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>)
    .getReader()
  const { idleTimeoutMs, signal } = options
  let buffer = ''
  let id: string | undefined
  try {
    for (;;) {
      const { value, done } = await readWithin(reader, idleTimeoutMs, signal)
      if (done) return
      buffer += value.replaceAll('\r\n', '\n')
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        let event = 'message'
        const data: string[] = []
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim()
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
          // The last id seen stays in force for later events, as EventSource does.
          else if (line.startsWith('id:')) id = line.slice(3).trim()
        }
        if (data.length > 0) yield { event, data: data.join('\n'), ...(id != null ? { id } : {}) }
      }
    }
  } finally {
    // Cancelling (not just unlocking) closes the connection when the caller stops early.
    await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}

/** One read, unless the stream stays silent for `idleTimeoutMs` or the signal aborts first. */
async function readWithin(
  reader: ReadableStreamDefaultReader<string>,
  idleTimeoutMs: number | undefined,
  signal: AbortSignal | undefined,
): Promise<ReadableStreamReadResult<string>> {
  if (idleTimeoutMs == null && signal == null) return reader.read()
  signal?.throwIfAborted()
  let timer: ReturnType<typeof setTimeout> | undefined
  let onAbort: (() => void) | undefined
  const stopped = new Promise<never>((_, reject) => {
    if (idleTimeoutMs != null)
      timer = setTimeout(() => reject(new EventStreamIdleError(idleTimeoutMs)), idleTimeoutMs)
    onAbort = () => reject(signal!.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([reader.read(), stopped])
  } finally {
    clearTimeout(timer)
    if (onAbort) signal?.removeEventListener('abort', onAbort)
  }
}

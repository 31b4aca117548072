import type { JobView } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import {
  ApiRequestError,
  BlobIntegrityError,
  JobAbortedError,
  JobFailedError,
  RelayUnreachableError,
} from './client-errors.ts'
import { createTransport, type RequestOptions, type Transport } from './http-transport.ts'
import { createJobHandle, downloadTensor } from './job-handle.ts'

const job = (status: JobView['status'], accepted = 0): JobView =>
  ({ id: 'j1', status, tasks: { accepted, total: 3 } }) as unknown as JobView
const result = (seq: number) => ({
  seq,
  taskId: `t${seq}`,
  index: seq - 1,
  outputs: [{ blob: 'ab'.repeat(32), dtype: 'uint32', shape: [1] }],
  method: 'replication',
  acceptedAt: seq,
})
const resultEvent = (seq: number) =>
  `event: result\nid: ${seq}\ndata: ${JSON.stringify(result(seq))}\n\n`
const stateEvent = (type: string, view: JobView) =>
  `event: ${type}\ndata: ${JSON.stringify({ job: view })}\n\n`

/** One scripted connection: chunks written after the given delays, then closed (or held open). */
type Script = { chunks: Array<[delayMs: number, text: string]>; hold?: boolean } | Error

/** A transport that answers `/events` from scripts, one per connection, and records requests. */
function fakeTransport(scripts: Script[]) {
  const calls: Array<{ path: string; headers: Record<string, string>; at: number }> = []
  const started = performance.now()
  const transport: Transport = {
    base: 'http://relay.test',
    async request(path: string, options: RequestOptions = {}) {
      calls.push({ path, headers: options.headers ?? {}, at: performance.now() - started })
      const script = scripts.shift()
      if (script == null) throw new Error(`unexpected request ${path}`)
      if (script instanceof Error) throw script
      const encoder = new TextEncoder()
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          for (const [delayMs, text] of script.chunks) {
            await new Promise((r) => setTimeout(r, delayMs))
            controller.enqueue(encoder.encode(text))
          }
          if (!script.hold) controller.close()
        },
      })
      return new Response(body)
    },
    json: () => Promise.reject(new Error('no JSON requests expected')),
  }
  return { transport, calls }
}

const collect = async <T>(items: AsyncIterable<T>) => {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}
const fast = { idleTimeoutMs: 200, reconnectDelayMs: 50, maxRetries: 3 }

describe('job handle event stream', () => {
  it('takes results from the stream and resumes after a drop with Last-Event-ID, no repeats', async () => {
    const { transport, calls } = fakeTransport([
      {
        chunks: [
          [0, stateEvent('progress', job('running'))],
          [0, resultEvent(1)],
        ],
      },
      new RelayUnreachableError('http://relay.test', new Error('ECONNRESET')),
      {
        chunks: [
          // The relay replays from the cursor; a repeat of 1 must not be yielded twice.
          [0, resultEvent(1)],
          [0, resultEvent(2)],
          [0, resultEvent(3)],
          [0, stateEvent('completed', job('completed', 3))],
        ],
      },
    ])
    const handle = createJobHandle(transport, 'j1', fast)
    const seqs = (await collect(handle.resultRefs())).map((r) => r.seq)
    expect(seqs).toEqual([1, 2, 3])
    expect(calls.map((c) => c.path)).toEqual([
      '/jobs/j1/events',
      '/jobs/j1/events',
      '/jobs/j1/events',
    ])
    expect(calls[0]!.headers['last-event-id']).toBeUndefined()
    expect(calls[2]!.headers['last-event-id']).toBe('1')
  })

  it('starts from `after` and skips results at or before it', async () => {
    const { transport, calls } = fakeTransport([
      {
        chunks: [
          [0, resultEvent(5)],
          [0, resultEvent(6)],
          [0, stateEvent('completed', job('completed', 6))],
        ],
      },
    ])
    const seqs = (
      await collect(createJobHandle(transport, 'j1', fast).resultRefs({ after: 5 }))
    ).map((r) => r.seq)
    expect(seqs).toEqual([6])
    expect(calls[0]!.headers['last-event-id']).toBe('5')
  })

  it('reopens a stream that goes silent (a half-open connection) after the idle timeout', async () => {
    const { transport, calls } = fakeTransport([
      { chunks: [[0, stateEvent('progress', job('running'))]], hold: true },
      { chunks: [[0, stateEvent('completed', job('completed', 3))]] },
    ])
    const states = await collect(createJobHandle(transport, 'j1', fast).progress())
    expect(states.map((s) => s.status)).toEqual(['running', 'completed'])
    expect(calls).toHaveLength(2)
    expect(calls[1]!.at).toBeGreaterThanOrEqual(fast.idleTimeoutMs - 10)
  })

  it('heartbeats keep a quiet stream open', async () => {
    const heartbeats = Array.from({ length: 8 }, () => [60, ': heartbeat\n\n'] as [number, string])
    const { transport, calls } = fakeTransport([
      {
        chunks: [
          [0, stateEvent('progress', job('running'))],
          ...heartbeats,
          [0, stateEvent('completed', job('completed', 3))],
        ],
      },
    ])
    // 8 × 60 ms of heartbeats is well past the 200 ms idle timeout, yet one connection suffices.
    const states = await collect(createJobHandle(transport, 'j1', fast).progress())
    expect(states.at(-1)?.status).toBe('completed')
    expect(calls).toHaveLength(1)
  })

  it('pauses before reconnecting when the relay closes the stream cleanly before the end', async () => {
    const { transport, calls } = fakeTransport([
      { chunks: [[0, stateEvent('progress', job('running'))]] },
      { chunks: [[0, stateEvent('completed', job('completed', 3))]] },
    ])
    await collect(createJobHandle(transport, 'j1', { ...fast, reconnectDelayMs: 150 }).progress())
    expect(calls).toHaveLength(2)
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(140)
  })

  it('progress asks for state changes only, so results are not replayed to it', async () => {
    const { transport, calls } = fakeTransport([
      { chunks: [[0, stateEvent('progress', job('running'))]] },
      { chunks: [[0, stateEvent('completed', job('completed', 3))]] },
    ])
    await collect(createJobHandle(transport, 'j1', fast).progress())
    // On the first connection and on the reconnection alike, with no cursor to resume from.
    expect(calls.map((c) => c.path)).toEqual([
      '/jobs/j1/events?results=false',
      '/jobs/j1/events?results=false',
    ])
    expect(calls.map((c) => c.headers['last-event-id'])).toEqual([undefined, undefined])
  })

  it('results ask for the full stream', async () => {
    const { transport, calls } = fakeTransport([
      { chunks: [[0, stateEvent('completed', job('completed', 0))]] },
    ])
    await collect(createJobHandle(transport, 'j1', fast).resultRefs())
    expect(calls[0]!.path).toBe('/jobs/j1/events')
  })

  it('reconnects when the relay accepts the stream but never sends its headers', async () => {
    let connections = 0
    const fetch = ((_url: string, init: RequestInit) => {
      // The first connection hangs before any header; the second answers.
      if (connections++ === 0)
        return new Promise((_, reject) => {
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason))
        })
      return Promise.resolve(new Response(stateEvent('completed', job('completed', 3))))
    }) as unknown as typeof globalThis.fetch
    const transport = createTransport({ base: 'http://relay.test', fetch, requestTimeoutMs: 50 })
    // An idle timeout far beyond the test's: only a deadline on the headers ends the first wait.
    const handle = createJobHandle(transport, 'j1', { ...fast, idleTimeoutMs: 600_000 })
    const states = await collect(handle.progress())
    expect(states.map((s) => s.status)).toEqual(['completed'])
    expect(connections).toBe(2)
  })

  it('gives up with RelayUnreachableError after maxRetries failed connections in a row', async () => {
    const refused = () => new RelayUnreachableError('http://relay.test', new Error('ECONNREFUSED'))
    const { transport, calls } = fakeTransport([refused(), refused(), refused(), refused()])
    await expect(collect(createJobHandle(transport, 'j1', fast).progress())).rejects.toThrow(
      RelayUnreachableError,
    )
    expect(calls).toHaveLength(fast.maxRetries + 1)
  })

  it('results tell onProgress each state, the terminal one last', async () => {
    const { transport } = fakeTransport([
      {
        chunks: [
          [0, stateEvent('progress', job('running'))],
          [0, resultEvent(1)],
          [0, stateEvent('completed', job('completed', 1))],
        ],
      },
    ])
    const states: JobView[] = []
    const results = await collect(
      createJobHandle(transport, 'j1', fast).resultRefs({ onProgress: (j) => states.push(j) }),
    )
    expect(results.map((r) => r.seq)).toEqual([1])
    expect(states.map((j) => j.status)).toEqual(['running', 'completed'])
  })

  it('results of a cancelled job end with JobFailedError after the results it had', async () => {
    const { transport } = fakeTransport([
      {
        chunks: [
          [0, resultEvent(1)],
          [0, stateEvent('cancelled', job('cancelled', 1))],
        ],
      },
    ])
    const seen: number[] = []
    const reading = (async () => {
      for await (const r of createJobHandle(transport, 'j1', fast).resultRefs()) seen.push(r.seq)
    })()
    await expect(reading).rejects.toThrow(JobFailedError)
    expect(seen).toEqual([1])
  })

  it('an abort ends the stream at once with the abort reason', async () => {
    const { transport } = fakeTransport([
      { chunks: [[0, stateEvent('progress', job('running'))]], hold: true },
    ])
    const stop = new AbortController()
    const reading = collect(
      createJobHandle(transport, 'j1', { ...fast, idleTimeoutMs: 60_000 }).progress({
        signal: stop.signal,
      }),
    )
    setTimeout(() => stop.abort(new Error('stop now')), 50)
    await expect(reading).rejects.toThrow('stop now')
  })
})

describe('job handle wait, aborted', () => {
  /** A stream that holds one running state, and JSON answers from `answer` (cancel, status). */
  function held(answer: (path: string) => unknown) {
    const { transport } = fakeTransport([
      { chunks: [[0, stateEvent('progress', job('running'))]], hold: true },
    ])
    const asked: string[] = []
    transport.json = async <T>(path: string) => {
      asked.push(path)
      const value = answer(path)
      if (value instanceof Error) throw value
      return value as T
    }
    return { handle: createJobHandle(transport, 'j1', { ...fast, idleTimeoutMs: 60_000 }), asked }
  }

  it('cancels the job and rejects with JobAbortedError: the cancelled view, the reason as cause', async () => {
    const cancelled = {
      ...job('cancelled', 1),
      credits: { budget: '300', spent: '100', refunded: '200' },
    }
    const { handle, asked } = held(() => cancelled)
    const stop = new AbortController()
    const reason = new Error('stop now')
    setTimeout(() => stop.abort(reason), 30)
    const err = await handle.wait({ signal: stop.signal }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(JobAbortedError)
    expect((err as JobAbortedError).message).toMatch(/^stop now; job j1 cancelled/)
    expect((err as JobAbortedError).cause).toBe(reason)
    expect((err as JobAbortedError).job).toEqual(cancelled)
    expect(asked).toEqual(['/jobs/j1/cancel'])
  })

  it('a job that ended first (409 JOB_FINISHED): the error carries its final state', async () => {
    const { handle, asked } = held((path) =>
      path.endsWith('/cancel')
        ? new ApiRequestError(409, 'JOB_FINISHED', 'job j1 already completed; nothing to cancel')
        : job('completed', 3),
    )
    const err = await handle.wait({ timeoutMs: 30 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(JobAbortedError)
    expect((err as JobAbortedError).job?.status).toBe('completed')
    expect((err as JobAbortedError).message).toMatch(/job j1 had already completed/)
    expect(((err as JobAbortedError).cause as Error).name).toBe('TimeoutError')
    expect(asked).toEqual(['/jobs/j1/cancel', '/jobs/j1'])
  })

  it('a relay that cannot be asked: no view, and the message says the job may still run', async () => {
    const { handle } = held(
      () => new RelayUnreachableError('http://relay.test', new Error('ECONNREFUSED')),
    )
    const err = await handle.wait({ timeoutMs: 30 }).catch((e: unknown) => e)
    expect((err as JobAbortedError).job).toBeUndefined()
    expect((err as JobAbortedError).message).toMatch(/may still be running/)
  })
})

describe('downloadTensor', () => {
  it('refuses bytes that do not match their hash or their shape with BlobIntegrityError', async () => {
    const transport = (bytes: Uint8Array): Transport => ({
      base: 'http://relay.test',
      request: async () => new Response(bytes as Uint8Array<ArrayBuffer>),
      json: () => Promise.reject(new Error('unused')),
    })
    const ref = { blob: '00'.repeat(32), dtype: 'uint32' as const, shape: [2] }
    await expect(downloadTensor(transport(new Uint8Array(8)), ref)).rejects.toThrow(
      BlobIntegrityError,
    )
    await expect(downloadTensor(transport(new Uint8Array(4)), ref)).rejects.toThrow(
      /has 4 bytes, its shape \(2\) uint32 needs 8/,
    )
  })
})

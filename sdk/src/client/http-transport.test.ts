import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiRequestError, RelayUnreachableError } from './client-errors.ts'
import { createTransport } from './http-transport.ts'

/** A fetch that answers from a script, recording what it was asked. */
function scriptedFetch(answers: Array<() => Response>) {
  const calls: Array<{ url: string; headers: Record<string, string> }> = []
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, headers: (init.headers ?? {}) as Record<string, string> })
    const next = answers.shift()
    if (next == null) throw new Error('no more answers scripted')
    return next()
  }) as unknown as typeof globalThis.fetch
  return { fetch, calls }
}

const tooMany = (retryAfter?: string) => () =>
  new Response(JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'slow down' } }), {
    status: 429,
    headers: retryAfter ? { 'retry-after': retryAfter } : {},
  })

describe('createTransport', () => {
  it('retries 429s after Retry-After, signing each attempt afresh', async () => {
    const { fetch, calls } = scriptedFetch([
      tooMany('0'),
      tooMany('0'),
      () => Response.json({ ok: 1 }),
    ])
    let signed = 0
    const transport = createTransport({
      base: 'http://relay',
      fetch,
      requestTimeoutMs: 1000,
      authenticate: async () => ({ 'x-attempt': String(++signed) }),
    })
    expect(await transport.json('/jobs')).toEqual({ ok: 1 })
    expect(calls.map((c) => c.headers['x-attempt'])).toEqual(['1', '2', '3'])
  })

  it("asks the relay's peer id once for signing, and again once when the relay says it changed", async () => {
    const wrongRelay = () =>
      Response.json(
        { error: { code: 'WRONG_RELAY', message: 'signed for relay A, but this relay is B' } },
        { status: 401 },
      )
    const { fetch, calls } = scriptedFetch([
      () => Response.json({ peerId: 'A', multiaddrs: [] }),
      () => Response.json({ ok: 1 }),
      () => Response.json({ ok: 2 }),
      wrongRelay,
      () => Response.json({ peerId: 'B', multiaddrs: [] }),
      () => Response.json({ ok: 3 }),
    ])
    const transport = createTransport({
      base: 'http://relay',
      fetch,
      requestTimeoutMs: 1000,
      authenticate: async ({ relayPeerId }) => ({ 'x-relay': await relayPeerId() }),
    })
    expect(await transport.json('/jobs')).toEqual({ ok: 1 })
    expect(await transport.json('/jobs')).toEqual({ ok: 2 })
    expect(await transport.json('/jobs')).toEqual({ ok: 3 })
    expect(calls.map((c) => `${c.url} ${c.headers?.['x-relay'] ?? ''}`)).toEqual([
      'http://relay/v1/swarm ',
      'http://relay/v1/jobs A',
      'http://relay/v1/jobs A',
      'http://relay/v1/jobs A',
      'http://relay/v1/swarm ',
      'http://relay/v1/jobs B',
    ])
  })

  it('starts the request timeout once the credentials are in, however long signing took', async () => {
    const { fetch, calls } = scriptedFetch([() => Response.json({ ok: 1 })])
    let aborted: boolean | undefined
    const transport = createTransport({
      base: 'http://relay',
      fetch: (async (url: string, init: RequestInit) => {
        aborted = init.signal?.aborted
        return fetch(url, init)
      }) as typeof globalThis.fetch,
      requestTimeoutMs: 20,
      // A wallet's owner taking longer than the request timeout to sign.
      authenticate: async () => {
        await new Promise((resolve) => setTimeout(resolve, 80))
        return { authorization: 'Bearer tss_1' }
      },
    })
    expect(await transport.json('/jobs')).toEqual({ ok: 1 })
    expect(aborted).toBe(false)
    expect(calls).toHaveLength(1)
  })

  it("gives up after three retries with the relay's own error", async () => {
    const { fetch } = scriptedFetch([tooMany('0'), tooMany('0'), tooMany('0'), tooMany('0')])
    const transport = createTransport({ base: 'http://relay', fetch, requestTimeoutMs: 1000 })
    const error = await transport.json('/jobs').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiRequestError)
    expect(error).toMatchObject({ status: 429, code: 'RATE_LIMITED', message: 'slow down' })
  })

  it("does not retry a 4xx that is the caller's fault", async () => {
    const { fetch, calls } = scriptedFetch([
      () =>
        Response.json(
          { error: { code: 'INVALID_JOB', message: 'body.kernel: bad' } },
          { status: 400 },
        ),
    ])
    const transport = createTransport({ base: 'http://relay', fetch, requestTimeoutMs: 1000 })
    await expect(transport.json('/jobs')).rejects.toThrow('body.kernel: bad')
    expect(calls).toHaveLength(1)
  })

  it('stops waiting for a retry when aborted', async () => {
    const { fetch } = scriptedFetch([tooMany('20')])
    const transport = createTransport({ base: 'http://relay', fetch, requestTimeoutMs: 1000 })
    const controller = new AbortController()
    const pending = transport.json('/jobs', { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('stop')), 50)
    await expect(pending).rejects.toThrow('stop')
  })
})

describe('createTransport on a long-lived stream (timeoutMs: null)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  /** A fetch that never answers, as a relay that accepts the connection and hangs does. */
  const silentFetch = ((_url: string, init: RequestInit) =>
    new Promise((_, reject) => {
      init.signal?.addEventListener('abort', () => reject(init.signal?.reason))
    })) as unknown as typeof globalThis.fetch

  it('gives up on response headers that never come after the client timeout', async () => {
    vi.useFakeTimers()
    const transport = createTransport({
      base: 'http://relay',
      fetch: silentFetch,
      requestTimeoutMs: 5_000,
    })
    const pending = transport.request('/jobs/j1/events', { timeoutMs: null })
    const failed = expect(pending).rejects.toThrow(RelayUnreachableError)
    await vi.advanceTimersByTimeAsync(5_000)
    await failed
  })

  it('lifts the deadline once the headers are in: the body may take as long as it likes', async () => {
    // Real timers: the chunk is due well after the deadline would have fired, so the fetch's
    // signal is still quiet when it arrives only if the deadline was lifted.
    let signal: AbortSignal | undefined
    const fetch = (async (_url: string, init: RequestInit) => {
      signal = init.signal ?? undefined
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          setTimeout(() => {
            controller.enqueue(new Uint8Array([1]))
            controller.close()
          }, 100)
        },
      })
      return new Response(body)
    }) as unknown as typeof globalThis.fetch
    const transport = createTransport({ base: 'http://relay', fetch, requestTimeoutMs: 5_000 })
    const response = await transport.request('/jobs/j1/events', {
      timeoutMs: null,
      headersTimeoutMs: 20,
    })
    expect((await response.arrayBuffer()).byteLength).toBe(1)
    expect(signal?.aborted).toBe(false)
  })
})

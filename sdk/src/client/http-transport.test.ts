import { describe, expect, it } from 'vitest'
import { ApiRequestError } from './client-errors.ts'
import { createTransport } from './http-transport.ts'

/** A fetch that answers from a script, recording what it was asked. */
function scriptedFetch(answers: Array<() => Response>) {
  const calls: Array<{ url: string; headers: Record<string, string> }> = []
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, headers: init.headers as Record<string, string> })
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

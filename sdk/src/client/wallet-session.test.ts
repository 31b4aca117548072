import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { ApiRequestError } from './client-errors.ts'
import { createTransport } from './http-transport.ts'
import { walletSession } from './wallet-session.ts'

const account = privateKeyToAccount(generatePrivateKey())

/**
 * A relay in miniature: `/v1/swarm`, `/v1/sessions` (numbered tokens) and `/v1/jobs`, which
 * answers whatever `jobs` says for the token it is sent.
 */
function fakeRelay(jobs: (token: string) => Response, ttlMs = 12 * 3_600_000) {
  let opened = 0
  const seen: string[] = []
  const fetch = (async (url: string, init: RequestInit = {}) => {
    const path = new URL(url).pathname
    const headers = (init.headers ?? {}) as Record<string, string>
    if (path === '/v1/swarm') return Response.json({ peerId: '12D3KooFake' })
    if (path === '/v1/sessions') {
      expect(headers['x-tabswarm-signature']).toMatch(/^0x/)
      opened++
      return Response.json(
        { token: `tss_${opened}`, account: account.address, expiresAt: Date.now() + ttlMs },
        { status: 201 },
      )
    }
    const token = headers.authorization?.replace('Bearer ', '') ?? ''
    seen.push(token)
    return jobs(token)
  }) as unknown as typeof globalThis.fetch
  return { fetch, seen, opened: () => opened }
}

const expired = () =>
  Response.json(
    { error: { code: 'SESSION_EXPIRED', message: 'the session expired at …' } },
    { status: 401 },
  )

describe('walletSession', () => {
  it('reopens the session once when the relay says it expired, then sends the request again', async () => {
    const relay = fakeRelay((token) =>
      token === 'tss_1' ? expired() : Response.json({ jobs: [] }),
    )
    const transport = createTransport({
      base: 'http://relay',
      fetch: relay.fetch,
      requestTimeoutMs: 1000,
      authenticate: walletSession(account),
    })
    expect(await transport.json('/jobs')).toEqual({ jobs: [] })
    expect(relay.seen).toEqual(['tss_1', 'tss_2'])
    expect(relay.opened()).toBe(2)
  })

  it('reopens only once: a relay that refuses the new session too is reported', async () => {
    const relay = fakeRelay(() => expired())
    const transport = createTransport({
      base: 'http://relay',
      fetch: relay.fetch,
      requestTimeoutMs: 1000,
      authenticate: walletSession(account),
    })
    const err = await transport.json('/jobs').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiRequestError)
    expect((err as ApiRequestError).code).toBe('SESSION_EXPIRED')
    expect(relay.opened()).toBe(2)
  })

  it('opens a new session before the old one expires, without a refused request', async () => {
    const relay = fakeRelay(() => Response.json({ jobs: [] }), 30_000)
    const transport = createTransport({
      base: 'http://relay',
      fetch: relay.fetch,
      requestTimeoutMs: 1000,
      authenticate: walletSession(account, { renewBeforeMs: 60_000 }),
    })
    await transport.json('/jobs')
    await transport.json('/jobs')
    expect(relay.seen).toEqual(['tss_1', 'tss_2'])
  })
})

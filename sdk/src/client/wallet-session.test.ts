import type { WalletSessionView } from '@tabswarm/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { ApiRequestError } from './client-errors.ts'
import { type Authenticate, createTransport } from './http-transport.ts'
import { walletSession } from './wallet-session.ts'

const account = privateKeyToAccount(generatePrivateKey())

/**
 * A relay in miniature: `/v1/swarm`, `/v1/sessions` (numbered tokens) and `/v1/jobs`, which
 * answers whatever `jobs` says for the token it is sent.
 */
function fakeRelay(jobs: (token: string) => Response, ttlMs = 12 * 3_600_000) {
  let opened = 0
  const seen: string[] = []
  const ended: string[] = []
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
    if (path === '/v1/sessions/current' && init.method === 'DELETE') {
      ended.push(token)
      return new Response(null, { status: 204 })
    }
    seen.push(token)
    return jobs(token)
  }) as unknown as typeof globalThis.fetch
  return { fetch, seen, ended, opened: () => opened }
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

  describe('kept across page loads', () => {
    const saved = (over: Partial<WalletSessionView> = {}): WalletSessionView => ({
      token: 'tss_saved',
      account: account.address,
      expiresAt: Date.now() + 3_600_000,
      ...over,
    })
    const transportWith = (relay: ReturnType<typeof fakeRelay>, authenticate: Authenticate) =>
      createTransport({
        base: 'http://relay',
        fetch: relay.fetch,
        requestTimeoutMs: 1000,
        authenticate,
      })

    it('resumes a saved session without asking the wallet to sign', async () => {
      const relay = fakeRelay(() => Response.json({ jobs: [] }))
      const told: Array<WalletSessionView | undefined> = []
      const signer = {
        address: account.address,
        signTypedData: () => Promise.reject(new Error('the wallet was asked to sign')),
      }
      const session = walletSession(signer, {
        // Addresses compare without their checksum case.
        session: saved({ account: account.address.toLowerCase() }),
        onSession: (s) => told.push(s),
      })
      expect(session.current?.token).toBe('tss_saved')
      await transportWith(relay, session).json('/jobs')
      expect(relay.seen).toEqual(['tss_saved'])
      expect(relay.opened()).toBe(0)
      expect(told).toEqual([])
    })

    it('tells each session it opens, renews or ends, and close() ends it at the relay', async () => {
      const relay = fakeRelay((token) =>
        token === 'tss_saved' ? expired() : Response.json({ jobs: [] }),
      )
      const told: Array<string | undefined> = []
      const session = walletSession(account, {
        session: saved(),
        onSession: (s) => told.push(s?.token),
      })
      const transport = transportWith(relay, session)
      // The relay refuses the saved one: dropped, a new one opened, the request sent again.
      await transport.json('/jobs')
      expect(relay.seen).toEqual(['tss_saved', 'tss_1'])
      expect(told).toEqual([undefined, 'tss_1'])
      await session.close()
      expect(relay.ended).toEqual(['tss_1'])
      expect(told).toEqual([undefined, 'tss_1', undefined])
      expect(session.current).toBeUndefined()
      // Closing again has nothing to end.
      await session.close()
      expect(relay.ended).toEqual(['tss_1'])
    })

    it('opens a new session instead of one near its expiry or for another account', async () => {
      for (const stale of [
        saved({ expiresAt: Date.now() + 1_000 }),
        saved({ account: privateKeyToAccount(generatePrivateKey()).address }),
      ]) {
        const relay = fakeRelay(() => Response.json({ jobs: [] }))
        const told: Array<string | undefined> = []
        const session = walletSession(account, {
          session: stale,
          onSession: (s) => told.push(s?.token),
        })
        await transportWith(relay, session).json('/jobs')
        expect(relay.seen).toEqual(['tss_1'])
        expect(told.at(-1)).toBe('tss_1')
      }
    })
  })
})

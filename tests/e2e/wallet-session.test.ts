import type { apiRequestTypedData } from '@tabswarm/protocol'
import { defaultConfig } from '@tabswarm/relay'
import { ApiRequestError, createClient, walletSession } from '@tabswarm/sdk'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'

/** A wallet session against a real relay that takes wallets only, as a browser dashboard would use it. */
describe('walletSession: one signature for a whole session', () => {
  let relay: InProcessRelay
  const account = privateKeyToAccount(generatePrivateKey())
  let signatures = 0
  // What a browser wallet is: something that signs typed data, once per prompt.
  const signer = {
    address: account.address,
    signTypedData: (typed: ReturnType<typeof apiRequestTypedData>) => {
      signatures++
      return account.signTypedData(typed)
    },
  }

  beforeAll(async () => {
    relay = await startInProcessRelay({ api: { ...defaultConfig.api, walletAuthOnly: true } })
  })
  afterAll(async () => {
    await relay?.stop()
  })

  it('signs once, carries the token, reopens once when the relay refuses it, and ends it on close', async () => {
    const url = relay.running.url
    const session = walletSession(signer)
    const client = createClient({ relay: url, authenticate: session })

    // Concurrent first requests share one opening: one signature.
    await Promise.all([
      client.account(account.address),
      client.listJobs(),
      client.account(account.address),
    ])
    await client.listJobs()
    expect(signatures).toBe(1)
    const first = session.current!
    expect(first.account).toBe(account.address)
    expect(first.token).toMatch(/^tss_/)
    expect(first.expiresAt - Date.now()).toBeGreaterThan(11 * 3_600_000)

    // The relay ends it behind the SDK's back: the next call is refused once, then succeeds
    // on a new session, for one more signature.
    const ended = await fetch(`${url}/v1/sessions/current`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${first.token}` },
    })
    expect(ended.status).toBe(204)
    await client.listJobs()
    expect(signatures).toBe(2)
    const second = session.current!
    expect(second.token).not.toBe(first.token)

    // Without a wallet, the relay refuses; the session's token is what lets the client in.
    const bare = await fetch(`${url}/v1/jobs`)
    expect(bare.status).toBe(401)
    const withToken = await fetch(`${url}/v1/jobs`, {
      headers: { authorization: `Bearer ${second.token}` },
    })
    expect(withToken.status).toBe(200)

    await session.close()
    const closed = await fetch(`${url}/v1/jobs`, {
      headers: { authorization: `Bearer ${second.token}` },
    })
    expect(closed.status).toBe(401)
    expect(((await closed.json()) as { error: { code: string } }).error.code).toBe(
      'INVALID_SESSION',
    )
  })

  it('says why when the relay will not open a session', async () => {
    const session = walletSession(signer, { ttlMs: 48 * 3_600_000 })
    const client = createClient({ relay: relay.running.url, authenticate: session })
    const err = await client.listJobs().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiRequestError)
    expect((err as ApiRequestError).message).toMatch(/^could not open a wallet session: body/)
  })
})

import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  apiRequestTypedData,
  EMPTY_BODY_SHA256,
  WalletSessionViewSchema,
  walletRequestHeaders,
} from '@tabswarm/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterEach, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { createTestApi, TEST_RELAY_PEER_ID } from '../testing/test-api.ts'
import { createWalletSessions } from './wallet-sessions.ts'

const wallet = privateKeyToAccount(generatePrivateKey())
const ALICE_KEY = 'tsk_alice_0123456789abcdefghijkl'
const HOUR = 3_600_000

/** Headers of a request signed by `wallet` for the test relay. */
async function signed(
  method: string,
  path: string,
  body?: string,
): Promise<Record<string, string>> {
  const bodySha256 =
    body == null
      ? EMPTY_BODY_SHA256
      : (`0x${createHash('sha256').update(body).digest('hex')}` as const)
  const typed = apiRequestTypedData({
    method,
    path,
    bodySha256,
    timestamp: BigInt(Date.now()),
    nonce: crypto.randomUUID(),
    relay: TEST_RELAY_PEER_ID,
  })
  return walletRequestHeaders(wallet.address, typed.message, await wallet.signTypedData(typed))
}

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A keyed relay whose sessions live in a file store, on a clock the test moves. */
function keyedRelay(options: { maxPerAccount?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sessions-'))
  dirs.push(dir)
  const path = join(dir, 'coordinator.db')
  const store = createSqliteStore({ path })
  let now = Date.now()
  const sessions = createWalletSessions({ store, now: () => now, ...options })
  const { app } = createTestApi({ apiKeys: { alice: ALICE_KEY }, sessions })
  const open = async (body?: string) => {
    const response = await app.request('/v1/sessions', {
      method: 'POST',
      headers: {
        ...(await signed('POST', '/v1/sessions', body)),
        ...(body != null ? { 'content-type': 'application/json' } : {}),
      },
      ...(body != null ? { body } : {}),
    })
    return response
  }
  const as = (token: string, init: RequestInit = {}) => ({
    ...init,
    headers: { authorization: `Bearer ${token}` },
  })
  return {
    app,
    store,
    path,
    open,
    as,
    advance: (ms: number) => {
      now += ms
    },
  }
}

describe('wallet sessions', () => {
  it('opens a session with one signature; its token then acts as the wallet, until revoked', async () => {
    const relay = keyedRelay()
    const response = await relay.open()
    expect(response.status).toBe(201)
    const session = WalletSessionViewSchema.parse(await response.json())
    expect(session.account).toBe(wallet.address)
    expect(session.token).toMatch(/^tss_[A-Za-z0-9_-]{43}$/)
    expect(session.expiresAt - Date.now()).toBeGreaterThan(12 * HOUR - 60_000)
    expect(session.expiresAt - Date.now()).toBeLessThanOrEqual(12 * HOUR)

    // Used like an API key of the wallet: its jobs are the wallet's.
    const submitted = await relay.app.request('/v1/jobs', {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        kernel: 'matmul',
        inputs: {
          a: { blob: 'a'.repeat(64), dtype: 'float32', shape: [2, 3] },
          b: { blob: 'b'.repeat(64), dtype: 'float32', shape: [3, 2] },
        },
      }),
    })
    expect(submitted.status).toBe(201)
    expect(((await submitted.json()) as { owner: string }).owner).toBe(wallet.address)
    const listed = await relay.app.request('/v1/jobs', relay.as(session.token))
    expect(listed.status).toBe(200)
    expect(((await listed.json()) as { jobs: unknown[] }).jobs).toHaveLength(1)
    const account = await relay.app.request(
      `/v1/accounts/${wallet.address}`,
      relay.as(session.token),
    )
    expect(account.status).toBe(200)

    const revoked = await relay.app.request(
      '/v1/sessions/current',
      relay.as(session.token, { method: 'DELETE' }),
    )
    expect(revoked.status).toBe(204)
    const after = await relay.app.request('/v1/jobs', relay.as(session.token))
    expect(after.status).toBe(401)
    expect(await after.json()).toMatchObject({
      error: {
        code: 'INVALID_SESSION',
        message: expect.stringMatching(/revoked.*POST \/v1\/sessions/),
      },
    })
  })

  it('refuses an expired token with 401 SESSION_EXPIRED naming the expiry and the fix', async () => {
    const relay = keyedRelay()
    const session = WalletSessionViewSchema.parse(
      await (await relay.open(JSON.stringify({ ttlMs: HOUR }))).json(),
    )
    expect((await relay.app.request('/v1/jobs', relay.as(session.token))).status).toBe(200)
    relay.advance(HOUR)
    const expired = await relay.app.request('/v1/jobs', relay.as(session.token))
    expect(expired.status).toBe(401)
    expect(expired.headers.get('www-authenticate')).toMatch(/Bearer/)
    expect(await expired.json()).toEqual({
      error: {
        code: 'SESSION_EXPIRED',
        message: `the session of ${wallet.address} expired at ${new Date(session.expiresAt).toISOString()}; open a new one: POST /v1/sessions with a wallet-signed request (the SDK’s walletSession does it for you)`,
      },
    })
  })

  it('refuses a token it never issued, and a lifetime past the cap', async () => {
    const relay = keyedRelay()
    const forged = `tss_${'A'.repeat(43)}`
    const wrong = await relay.app.request('/v1/jobs', relay.as(forged))
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toMatchObject({ error: { code: 'INVALID_SESSION' } })
    const malformed = await relay.app.request('/v1/jobs', relay.as('tss_short'))
    expect(malformed.status).toBe(401)
    expect(await malformed.json()).toMatchObject({ error: { code: 'INVALID_SESSION' } })
    // An API key is still an API key.
    expect(
      (await relay.app.request('/v1/jobs', relay.as('tsk_nobody_0123456789abcdefghij'))).status,
    ).toBe(401)

    const tooLong = await relay.open(JSON.stringify({ ttlMs: 25 * HOUR }))
    expect(tooLong.status).toBe(400)
    expect(await tooLong.json()).toMatchObject({ error: { code: 'INVALID_BODY' } })
  })

  it('opens sessions for wallet signatures only: not for an API key, a session token or the local user', async () => {
    const relay = keyedRelay()
    const byKey = await relay.app.request('/v1/sessions', relay.as(ALICE_KEY, { method: 'POST' }))
    expect(byKey.status).toBe(403)
    expect(await byKey.json()).toMatchObject({
      error: {
        code: 'FORBIDDEN',
        message: expect.stringMatching(/alice holds an API key already/),
      },
    })
    const session = WalletSessionViewSchema.parse(await (await relay.open()).json())
    const bySession = await relay.app.request(
      '/v1/sessions',
      relay.as(session.token, { method: 'POST' }),
    )
    expect(bySession.status).toBe(403)

    const local = createTestApi().app
    expect((await local.request('/v1/sessions', { method: 'POST' })).status).toBe(403)
  })

  it('keeps a few live sessions per wallet: one more ends the oldest', async () => {
    const relay = keyedRelay({ maxPerAccount: 2 })
    const tokens: string[] = []
    for (let i = 0; i < 3; i++) {
      tokens.push(WalletSessionViewSchema.parse(await (await relay.open()).json()).token)
      relay.advance(1)
    }
    const statuses = await Promise.all(
      tokens.map(async (token) => (await relay.app.request('/v1/jobs', relay.as(token))).status),
    )
    expect(statuses).toEqual([401, 200, 200])
  })

  it('stores only the sha-256 of a token, never the token', async () => {
    const relay = keyedRelay()
    const session = WalletSessionViewSchema.parse(await (await relay.open()).json())
    relay.store.flush()
    const hash = createHash('sha256').update(session.token).digest('hex')
    expect(relay.store.sessionByToken(hash)).toMatchObject({ account: wallet.address })
    relay.store.close()
    const bytes = Buffer.concat(
      ['', '-wal'].flatMap((suffix) => {
        try {
          return [readFileSync(`${relay.path}${suffix}`)]
        } catch {
          return []
        }
      }),
    )
    expect(bytes.includes(Buffer.from(session.token.slice(4)))).toBe(false)
    expect(bytes.includes(Buffer.from(hash))).toBe(true)
  })
})

import { createHash } from 'node:crypto'
import { apiRequestTypedData, WALLET_AUTH_HEADERS, walletRequestHeaders } from '@tabswarm/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createTestApi, TEST_RELAY_PEER_ID } from '../testing/test-api.ts'
import { decideAuthMode, isLoopbackHost } from './authenticate.ts'

const KEY = 'tsk_alice_0123456789abcdefghijkl'
const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } })

async function errorOf(response: Response) {
  const body = (await response.json()) as { error: { code: string; message: string } }
  return { status: response.status, ...body.error }
}

/** Signs a request the way the SDK does, with overridable parts. */
async function signedHeaders(
  account: ReturnType<typeof privateKeyToAccount>,
  request: { method: string; path: string; body?: Uint8Array; timestamp?: number; nonce?: string },
) {
  const body = request.body ?? new Uint8Array(0)
  const typed = apiRequestTypedData({
    method: request.method,
    path: request.path,
    bodySha256: `0x${createHash('sha256').update(body).digest('hex')}`,
    timestamp: BigInt(request.timestamp ?? Date.now()),
    nonce: request.nonce ?? crypto.randomUUID(),
    relay: TEST_RELAY_PEER_ID,
  })
  return walletRequestHeaders(account.address, typed.message, await account.signTypedData(typed))
}

describe('HTTP API: API keys', () => {
  it('files jobs under the account of a good key', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    const response = await app.request('/v1/jobs', bearer(KEY))
    expect(response.status).toBe(200)
    const account = await app.request('/v1/accounts/alice', bearer(KEY))
    expect(await account.json()).toMatchObject({ account: 'alice', balance: '100' })
  })

  it('refuses a bad key, a malformed header and a missing key with 401 and a challenge', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    const bad = await app.request('/v1/jobs', bearer(`${KEY}x`))
    expect(await errorOf(bad)).toMatchObject({ status: 401, code: 'INVALID_API_KEY' })
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer/)
    const malformed = await app.request('/v1/jobs', { headers: { authorization: `Basic ${KEY}` } })
    expect(await errorOf(malformed)).toMatchObject({ status: 401, code: 'INVALID_API_KEY' })
    const missing = await app.request('/v1/jobs')
    expect(await errorOf(missing)).toMatchObject({ status: 401, code: 'AUTH_REQUIRED' })
  })

  it('keeps the public routes public', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    for (const path of ['/v1/health', '/v1/swarm', '/v1/openapi.json', '/metrics'])
      expect((await app.request(path)).status, path).toBe(200)
  })

  it('hides other accounts’ jobs and named accounts’ credits', async () => {
    const { app, jobs } = createTestApi({
      apiKeys: { alice: KEY, bob: 'tsk_bob_0123456789abcdefghijklmn' },
    })
    const job = await jobs.submit(
      {
        kernel: 'custom',
        program: { wgsl: 'x', inputs: [], outputs: [{ name: 'o', dtype: 'float32' }] },
        tasks: [],
      },
      { account: 'bob' },
    )
    expect(await errorOf(await app.request(`/v1/jobs/${job.id}`, bearer(KEY)))).toMatchObject({
      status: 404,
      code: 'JOB_NOT_FOUND',
    })
    expect(
      await errorOf(
        await app.request(`/v1/jobs/${job.id}/cancel`, { method: 'POST', ...bearer(KEY) }),
      ),
    ).toMatchObject({
      status: 404,
    })
    expect(
      (await app.request(`/v1/jobs/${job.id}`, bearer('tsk_bob_0123456789abcdefghijklmn'))).status,
    ).toBe(200)
    expect(await errorOf(await app.request('/v1/accounts/bob', bearer(KEY)))).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
    })
    const wallet = privateKeyToAccount(generatePrivateKey()).address
    expect((await app.request(`/v1/accounts/${wallet.toLowerCase()}`, bearer(KEY))).status).toBe(
      200,
    )
  })

  it('is open to local callers as `local` only when no key is configured', async () => {
    const open = createTestApi()
    expect(await (await open.app.request('/v1/accounts/local')).json()).toMatchObject({
      account: 'local',
    })
    const closed = createTestApi({ apiKeys: { alice: KEY } })
    expect((await closed.app.request('/v1/accounts/local')).status).toBe(401)
  })
})

describe('HTTP API: wallet signatures', () => {
  const wallet = privateKeyToAccount(generatePrivateKey())

  it('accepts a fresh signature and files the job under the wallet address', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    const body = new TextEncoder().encode(
      JSON.stringify({
        kernel: 'custom',
        program: { wgsl: 'fn main() {}', inputs: [], outputs: [{ name: 'o', dtype: 'float32' }] },
        tasks: [{ inputs: [], outputs: [{ shape: [4], dtype: 'float32' }], workgroups: [1, 1, 1] }],
      }),
    )
    const headers = await signedHeaders(wallet, { method: 'POST', path: '/v1/jobs', body })
    const response = await app.request('/v1/jobs', {
      method: 'POST',
      body,
      headers: { ...headers, 'content-type': 'application/json' },
    })
    expect(response.status).toBe(201)
    expect(await response.json()).toMatchObject({ owner: wallet.address })
  })

  it('signs the query string with the path', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    const headers = await signedHeaders(wallet, { method: 'GET', path: '/v1/jobs?limit=5' })
    expect((await app.request('/v1/jobs?limit=5', { headers })).status).toBe(200)
    const other = await signedHeaders(wallet, { method: 'GET', path: '/v1/jobs?limit=5' })
    expect(await errorOf(await app.request('/v1/jobs?limit=6', { headers: other }))).toMatchObject({
      status: 401,
      code: 'INVALID_SIGNATURE',
    })
  })

  it('refuses a stale signature', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    const headers = await signedHeaders(wallet, {
      method: 'GET',
      path: '/v1/jobs',
      timestamp: Date.now() - 10 * 60_000,
    })
    expect(await errorOf(await app.request('/v1/jobs', { headers }))).toMatchObject({
      status: 401,
      code: 'SIGNATURE_EXPIRED',
    })
  })

  it('refuses a replayed request', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    const headers = await signedHeaders(wallet, { method: 'GET', path: '/v1/jobs' })
    expect((await app.request('/v1/jobs', { headers })).status).toBe(200)
    expect(await errorOf(await app.request('/v1/jobs', { headers }))).toMatchObject({
      status: 401,
      code: 'SIGNATURE_REPLAYED',
    })
  })

  it('refuses a signature by another wallet than the one claimed', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    const mallory = privateKeyToAccount(generatePrivateKey())
    const headers = {
      ...(await signedHeaders(mallory, { method: 'GET', path: '/v1/jobs' })),
      [WALLET_AUTH_HEADERS.address]: wallet.address,
    }
    expect(await errorOf(await app.request('/v1/jobs', { headers }))).toMatchObject({
      status: 401,
      code: 'INVALID_SIGNATURE',
      message: expect.stringContaining(wallet.address),
    })
  })

  it('refuses a body other than the one signed, and stores none of it', async () => {
    const { app, blobs } = createTestApi({ apiKeys: { alice: KEY } })
    const headers = await signedHeaders(wallet, {
      method: 'PUT',
      path: '/v1/blobs',
      body: new Uint8Array([1]),
    })
    const response = await app.request('/v1/blobs', {
      method: 'PUT',
      body: new Uint8Array([2]),
      headers,
    })
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'BODY_HASH_MISMATCH' })
    expect(blobs.bytesUsed).toBe(0)
    const json = await signedHeaders(wallet, {
      method: 'POST',
      path: '/v1/quote',
      body: new TextEncoder().encode('{"kernel":"matmul"}'),
    })
    const quote = await app.request('/v1/quote', {
      method: 'POST',
      body: '{"kernel":"custom"}',
      headers: { ...json, 'content-type': 'application/json' },
    })
    expect(await errorOf(quote)).toMatchObject({ status: 400, code: 'BODY_HASH_MISMATCH' })
  })

  it('refuses a declared body hash other than the signed one before reading the body', async () => {
    const { app } = createTestApi({ apiKeys: { alice: KEY } })
    const headers = {
      ...(await signedHeaders(wallet, {
        method: 'PUT',
        path: '/v1/blobs',
        body: new Uint8Array([1]),
      })),
      [WALLET_AUTH_HEADERS.contentSha256]: `0x${createHash('sha256')
        .update(new Uint8Array([2]))
        .digest('hex')}`,
    }
    const response = await app.request('/v1/blobs', {
      method: 'PUT',
      body: new Uint8Array([2]),
      headers,
    })
    expect(await errorOf(response)).toMatchObject({ status: 401, code: 'INVALID_SIGNATURE' })
  })
})

describe('auth mode', () => {
  it('opens a loopback relay without keys, and refuses a public one', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true)
    expect(isLoopbackHost('::1')).toBe(true)
    expect(isLoopbackHost('0.0.0.0')).toBe(false)
    expect(decideAuthMode({ host: '127.0.0.1', keyCount: 0, walletOnly: false })).toEqual({
      openToLocal: true,
    })
    expect(decideAuthMode({ host: '127.0.0.1', keyCount: 1, walletOnly: false })).toEqual({
      openToLocal: false,
    })
    expect(decideAuthMode({ host: '0.0.0.0', keyCount: 0, walletOnly: true })).toEqual({
      openToLocal: false,
    })
    expect(() => decideAuthMode({ host: '0.0.0.0', keyCount: 0, walletOnly: false })).toThrow(
      /TABSWARM_API_KEYS/,
    )
  })
})

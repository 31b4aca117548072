import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiRequestTypedData, walletRequestHeaders } from '@tabswarm/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterEach, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { createTestApi } from '../testing/test-api.ts'

/**
 * Replays of a wallet-signed request, against the HTTP API over the real SQLite store: to
 * another relay, to the same relay after a restart (a new store on the same file), and
 * the store's nonces forgotten once their requests could no longer pass anyway.
 */

const wallet = privateKeyToAccount(generatePrivateKey())
const RELAY_A = '12D3KooWRelayAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const RELAY_B = '12D3KooWRelayBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
function tempDb() {
  const dir = mkdtempSync(join(tmpdir(), 'nonces-'))
  dirs.push(dir)
  return join(dir, 'coordinator.db')
}

const spec = {
  kernel: 'custom',
  program: { wgsl: 'fn main() {}', inputs: [], outputs: [{ name: 'o', dtype: 'float32' }] },
  tasks: [{ inputs: [], outputs: [{ shape: [4], dtype: 'float32' }], workgroups: [1, 1, 1] }],
}
const body = new TextEncoder().encode(JSON.stringify(spec))

async function signedSubmit(relay: string, timestamp = Date.now()) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body))
  const typed = apiRequestTypedData({
    method: 'POST',
    path: '/v1/jobs',
    bodySha256: `0x${Buffer.from(digest).toString('hex')}`,
    timestamp: BigInt(timestamp),
    nonce: crypto.randomUUID(),
    relay,
  })
  return {
    method: 'POST',
    body,
    headers: {
      ...walletRequestHeaders(wallet.address, typed.message, await wallet.signTypedData(typed)),
      'content-type': 'application/json',
    },
  }
}

async function codeOf(response: Response) {
  return { status: response.status, ...((await response.json()) as { error?: object }).error }
}

describe('wallet-signed requests cannot be replayed', () => {
  it('to another relay: the signature names the relay it was made for', async () => {
    const a = createTestApi({
      apiKeys: { x: 'tsk_x_0123456789abcdefghijklmnopq' },
      wallet: { relayPeerId: RELAY_A, nonces: createSqliteStore({ path: tempDb() }) },
    })
    const b = createTestApi({
      apiKeys: { x: 'tsk_x_0123456789abcdefghijklmnopq' },
      wallet: { relayPeerId: RELAY_B, nonces: createSqliteStore({ path: tempDb() }) },
    })
    const request = await signedSubmit(RELAY_A)
    expect((await a.app.request('/v1/jobs', request)).status).toBe(201)
    // The same bytes, verbatim, at relay B: before the fix B created a job escrowed from the wallet.
    expect(await codeOf(await b.app.request('/v1/jobs', request))).toMatchObject({
      status: 401,
      code: 'WRONG_RELAY',
    })
    expect((await b.jobs.listJobs({ owner: wallet.address, limit: 10 })).jobs).toEqual([])
  })

  it('to the same relay after a restart: used nonces are kept in the store', async () => {
    const path = tempDb()
    const before = createSqliteStore({ path })
    const first = createTestApi({
      apiKeys: { x: 'tsk_x_0123456789abcdefghijklmnopq' },
      wallet: { relayPeerId: RELAY_A, nonces: before },
    })
    const request = await signedSubmit(RELAY_A)
    expect((await first.app.request('/v1/jobs', request)).status).toBe(201)
    before.close()

    // A new process: a new store on the same file, a new authenticator, nothing in memory.
    const after = createSqliteStore({ path })
    const restarted = createTestApi({
      apiKeys: { x: 'tsk_x_0123456789abcdefghijklmnopq' },
      wallet: { relayPeerId: RELAY_A, nonces: after },
    })
    expect(await codeOf(await restarted.app.request('/v1/jobs', request))).toMatchObject({
      status: 401,
      code: 'SIGNATURE_REPLAYED',
    })
    expect((await restarted.jobs.listJobs({ owner: wallet.address, limit: 10 })).jobs).toEqual([])
    after.close()
  })

  it('forgets nonces in the store once they have expired, and only then', async () => {
    const store = createSqliteStore({ path: tempDb() })
    let now = Date.now()
    const { app } = createTestApi({
      apiKeys: { x: 'tsk_x_0123456789abcdefghijklmnopq' },
      wallet: {
        relayPeerId: RELAY_A,
        nonces: store,
        now: () => now,
        maxSkewMs: 60_000,
        pruneEveryMs: 1_000,
      },
    })
    const old = await signedSubmit(RELAY_A, now)
    expect((await app.request('/v1/jobs', old)).status).toBe(201)
    expect(store.countNonces()).toBe(1)

    // Still inside the window: a prune keeps it (the request could still pass).
    now += 30_000
    expect((await app.request('/v1/jobs', await signedSubmit(RELAY_A, now))).status).toBe(201)
    expect(store.countNonces()).toBe(2)
    expect(await codeOf(await app.request('/v1/jobs', old))).toMatchObject({
      code: 'SIGNATURE_REPLAYED',
    })

    // Past the first one's window (timestamp + skew): pruned; the replay is refused as stale.
    now += 31_000
    expect((await app.request('/v1/jobs', await signedSubmit(RELAY_A, now))).status).toBe(201)
    expect(store.countNonces()).toBe(2)
    expect(await codeOf(await app.request('/v1/jobs', old))).toMatchObject({
      code: 'SIGNATURE_EXPIRED',
    })
    store.close()
  })
})

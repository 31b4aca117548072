import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import {
  EpochSummarySchema,
  EpochViewSchema,
  SettlementInfoSchema,
  type WalletCredits,
  WalletCreditsSchema,
} from '@tabswarm/protocol'
import { getAddress } from 'viem'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../log.ts'
import { createEpochCloser } from '../settlement/epoch-closer.ts'
import { createSettlementService } from '../settlement/settlement-service.ts'
import {
  createFakeSettlementChain,
  type FakeSettlementChain,
} from '../settlement/testing/fake-settlement-chain.ts'
import type { CoordinatorStore } from '../store/coordinator-store.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import type { SettlementApiOptions } from './settlement-routes.ts'
import { createTestApi } from './testing/test-api.ts'

const ALICE = getAddress('0xa11ce00000000000000000000000000000000001')
const BOB = getAddress('0xb0b0000000000000000000000000000000000002')
const CAROL = getAddress('0xca401000000000000000000000000000000000c3')

describe('settlement API', () => {
  let store: CoordinatorStore
  let chain: FakeSettlementChain
  let earned: Map<string, bigint>
  let settlement: SettlementApiOptions

  beforeEach(() => {
    store = createSqliteStore({ path: ':memory:' })
    chain = createFakeSettlementChain()
    earned = new Map([
      [ALICE, 30n],
      [BOB, 12n],
    ])
    const earnedTotals = () => [...earned].map(([account, total]) => ({ account, total }))
    const closer = createEpochCloser({
      store,
      chain,
      earnedTotals,
      unitsPerCredit: 10n,
      log: silentLogger,
    })
    settlement = {
      service: createSettlementService({
        chain,
        closer,
        store,
        earnedTotals,
        unitsPerCredit: 10n,
        publicRpcUrl: 'http://127.0.0.1:8545',
        epochIntervalMs: 600_000,
        log: silentLogger,
      }),
      operators: ['operator'],
      claimRateLimit: false,
    }
  })
  afterEach(() => store.close())

  const post = (
    app: ReturnType<typeof createTestApi>['app'],
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  const credits = async (app: ReturnType<typeof createTestApi>['app'], address: string) => {
    const response = await app.request(`/v1/settlement/accounts/${address}`)
    expect(response.status).toBe(200)
    return WalletCreditsSchema.parse(await response.json()) as WalletCredits
  }

  it('counts the credits put in posted roots in the public figures (GET /v1/stats)', async () => {
    // A fresh API per reading: each caches its figures for a second.
    const settled = async () =>
      (
        (await (await createTestApi({ settlement }).app.request('/v1/stats')).json()) as {
          credits: { settled: string }
        }
      ).credits.settled
    expect(await settled()).toBe('0')
    expect((await post(createTestApi({ settlement }).app, '/v1/settlement/epochs')).status).toBe(
      200,
    )
    // 420 base units at 10 per credit.
    expect(await settled()).toBe('42')
  })

  it('tells where credits settle', async () => {
    const { app } = createTestApi({ settlement })
    const response = await app.request('/v1/settlement')
    expect(response.status).toBe(200)
    expect(SettlementInfoSchema.parse(await response.json())).toEqual({
      chainId: 31337,
      rpcUrl: 'http://127.0.0.1:8545',
      distributor: chain.distributor,
      token: { address: chain.token, symbol: 'TSC', decimals: 18 },
      unitsPerCredit: '10',
      siteShareBps: 0,
      epochIntervalMs: 600_000,
      latestEpoch: 0,
    })
  })

  it('shows pending, then claimable with a proof that verifies, then claimed, as epochs close and claims land', async () => {
    const { app } = createTestApi({ settlement })
    expect(await credits(app, ALICE)).toEqual({
      address: ALICE,
      pending: '300',
      claimable: '0',
      claimed: '0',
      claim: null,
    })

    const closed = await post(app, '/v1/settlement/epochs')
    expect(closed.status).toBe(200)
    expect(await closed.json()).toMatchObject({
      closed: true,
      epoch: 1,
      state: 'confirmed',
      cumulativeTotal: '420',
      leaves: 2,
    })

    earned.set(ALICE, 35n)
    const alice = await credits(app, ALICE.toLowerCase())
    expect(alice).toMatchObject({ address: ALICE, pending: '50', claimable: '300', claimed: '0' })
    expect(alice.claim).toMatchObject({
      epoch: 1,
      root: chain.posts[0]?.root,
      account: ALICE,
      cumulativeAmount: '300',
    })
    expect(
      StandardMerkleTree.verify(
        alice.claim?.root ?? '',
        ['address', 'uint256'],
        [ALICE, '300'],
        alice.claim?.proof ?? [],
      ),
    ).toBe(true)

    const claims = await post(app, '/v1/settlement/claims', { accounts: [ALICE, CAROL] })
    expect(claims.status).toBe(200)
    const submitted = await claims.json()
    expect(submitted.claims).toHaveLength(1)
    expect(submitted.skipped).toEqual([{ account: CAROL, reason: "not in epoch 1's root" }])
    expect(await credits(app, ALICE)).toMatchObject({
      pending: '50',
      claimable: '0',
      claimed: '300',
    })

    const again = await post(app, '/v1/settlement/claims', { accounts: [ALICE] })
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({ error: { code: 'NOTHING_TO_CLAIM' } })

    expect(await (await post(app, '/v1/settlement/epochs')).json()).toMatchObject({
      closed: true,
      epoch: 2,
    })
    expect(await credits(app, ALICE)).toMatchObject({
      pending: '0',
      claimable: '50',
      claimed: '300',
    })
  })

  it('closes no epoch when nothing changed, and says so', async () => {
    const { app } = createTestApi({ settlement })
    await post(app, '/v1/settlement/epochs')
    const response = await post(app, '/v1/settlement/epochs')
    expect(response.status).toBe(200)
    // The answer is an EpochSummary either way (the latest one here): one shape for clients.
    expect(EpochSummarySchema.parse(await response.json())).toMatchObject({
      closed: false,
      message: 'no epoch closed: nothing new since epoch 1',
      epoch: 1,
    })
    expect(chain.posts).toHaveLength(1)
  })

  it('publishes each epoch’s whole tree, which loads and gives the posted root; lists epochs newest first, paged', async () => {
    const { app } = createTestApi({ settlement })
    for (const total of [1n, 2n, 3n]) {
      earned.set(BOB, total)
      await post(app, '/v1/settlement/epochs')
    }
    const view = EpochViewSchema.parse(await (await app.request('/v1/settlement/epochs/2')).json())
    const tree = StandardMerkleTree.load(view.tree as never)
    expect(tree.root).toBe(chain.posts[1]?.root)
    expect(view).toMatchObject({ epoch: 2, state: 'confirmed', txHash: chain.posts[1]?.hash })

    const first = await (await app.request('/v1/settlement/epochs?limit=2')).json()
    expect(first.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([3, 2])
    expect(first.next).toBe(2)
    const second = await (await app.request('/v1/settlement/epochs?limit=2&before=2')).json()
    expect(second).toMatchObject({ epochs: [{ epoch: 1 }], next: null })

    const missing = await app.request('/v1/settlement/epochs/9')
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'EPOCH_NOT_FOUND' } })
    expect((await app.request('/v1/settlement/epochs/zero')).status).toBe(400)
  })

  it('lets only an operator close an epoch on a keyed relay; anyone may claim for any wallet', async () => {
    const { app } = createTestApi({
      settlement,
      apiKeys: { operator: 'op-key', researcher: 'r-key' },
    })
    expect((await post(app, '/v1/settlement/epochs')).status).toBe(401)
    const refused = await post(app, '/v1/settlement/epochs', undefined, {
      authorization: 'Bearer r-key',
    })
    expect(refused.status).toBe(403)
    expect((await refused.json()).error.message).toMatch(
      /TABSWARM_SETTLEMENT_OPERATORS \(operator\)/,
    )
    const closed = await post(app, '/v1/settlement/epochs', undefined, {
      authorization: 'Bearer op-key',
    })
    expect(closed.status).toBe(200)
    // No credentials needed to read or to claim: the tokens go to the wallet.
    expect((await app.request(`/v1/settlement/accounts/${BOB}`)).status).toBe(200)
    expect((await post(app, '/v1/settlement/claims', { accounts: [BOB] })).status).toBe(200)
  })

  it('refuses malformed claims, and limits claim requests per address', async () => {
    const { app } = createTestApi({
      settlement: { ...settlement, claimRateLimit: { ratePerSecond: 0.001, burst: 2 } },
      apiKeys: { operator: 'op-key' },
    })
    const tooMany = Array.from(
      { length: 33 },
      (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}`,
    )
    const big = await post(app, '/v1/settlement/claims', { accounts: tooMany })
    expect(big.status).toBe(400)
    expect((await big.json()).error.message).toMatch(/at most 32 accounts/)
    const bad = await post(app, '/v1/settlement/claims', { accounts: ['peer:abc'] })
    expect(bad.status).toBe(400)
    const limited = await post(app, '/v1/settlement/claims', { accounts: [ALICE] })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).not.toBeNull()
  })

  it('refuses to close a first epoch before any wallet has earned (NOTHING_TO_SETTLE)', async () => {
    earned.clear()
    const { app } = createTestApi({ settlement })
    const response = await post(app, '/v1/settlement/epochs')
    expect(response.status).toBe(409)
    expect(await response.json()).toMatchObject({
      error: { code: 'NOTHING_TO_SETTLE', message: expect.stringMatching(/no wallet has earned/) },
    })
  })

  it('answers SETTLEMENT_DISABLED on a relay without settlement', async () => {
    const { app } = createTestApi()
    for (const path of [
      '/v1/settlement',
      `/v1/settlement/accounts/${ALICE}`,
      '/v1/settlement/epochs/1',
    ]) {
      const response = await app.request(path)
      expect(response.status).toBe(404)
      expect(await response.json()).toMatchObject({
        error: {
          code: 'SETTLEMENT_DISABLED',
          message: expect.stringMatching(/TABSWARM_SETTLEMENT=off/),
        },
      })
    }
  })

  it('answers 503 SETTLEMENT_UNAVAILABLE when the chain does not answer', async () => {
    const { app } = createTestApi({ settlement })
    chain.failNext('ensureFunded')
    const response = await post(app, '/v1/settlement/epochs')
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({ error: { code: 'SETTLEMENT_UNAVAILABLE' } })
  })

  it('describes every settlement route in the OpenAPI document', async () => {
    const { app } = createTestApi({ settlement })
    const doc = await (await app.request('/v1/openapi.json')).json()
    expect(
      Object.keys(doc.paths)
        .filter((p) => p.startsWith('/v1/settlement'))
        .sort(),
    ).toEqual([
      '/v1/settlement',
      '/v1/settlement/accounts/{address}',
      '/v1/settlement/claims',
      '/v1/settlement/epochs',
      '/v1/settlement/epochs/{n}',
    ])
    expect(Object.keys(doc.paths['/v1/settlement/epochs']).sort()).toEqual(['get', 'post'])
  })
})

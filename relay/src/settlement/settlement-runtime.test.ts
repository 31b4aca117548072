import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../log.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import type { ConnectChain } from './chain/connect-chain.ts'
import { createEpochTimer } from './epoch-timer.ts'
import { SETTLEMENT_DEFAULTS } from './settlement-config.ts'
import { startSettlementRuntime } from './settlement-runtime.ts'
import {
  createFakeSettlementChain,
  type FakeSettlementChain,
} from './testing/fake-settlement-chain.ts'

const ALICE = '0x1000000000000000000000000000000000000001'

describe('settlement runtime', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-settlement-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('on each start of the embedded chain, redeploys and posts every stored root again, then serves the same figures', async () => {
    const path = join(dir, 'coordinator.db')
    const earned = new Map([[ALICE, 7n]])
    const chains: FakeSettlementChain[] = []
    let closed = 0
    // Each start gets a new, empty chain, as the embedded EDR chain is.
    const connect: ConnectChain = async () => {
      const chain = createFakeSettlementChain()
      chains.push(chain)
      return {
        chain,
        publicRpcUrl: 'http://127.0.0.1:8545',
        fresh: true,
        close: async () => {
          closed++
        },
      }
    }
    const start = () => {
      const store = createSqliteStore({ path })
      return startSettlementRuntime({
        config: {
          mode: 'embedded',
          ...SETTLEMENT_DEFAULTS,
          operators: ['operator'],
          epochMinutes: 0,
        },
        store,
        earnedTotals: () => [...earned].map(([account, total]) => ({ account, total })),
        log: silentLogger,
        connect,
      }).then((runtime) => ({ runtime, store }))
    }

    const first = await start()
    expect(first.runtime.chain).toMatchObject({ chainId: 31337, rpcUrl: 'http://127.0.0.1:8545' })
    await first.runtime.service.closeEpoch()
    earned.set(ALICE, 9n)
    await first.runtime.service.closeEpoch()
    await first.runtime.stop()
    first.store.close()
    expect(closed).toBe(1)

    const second = await start()
    expect(chains[1]?.posts.map((p) => p.root)).toEqual(chains[0]?.posts.map((p) => p.root))
    expect(await second.runtime.service.account(ALICE)).toMatchObject({
      claimable: '9',
      pending: '0',
    })
    expect((await second.runtime.service.info()).latestEpoch).toBe(2)
    await second.runtime.stop()
    second.store.close()
  })

  it('lets the chain go when the start fails after connecting', async () => {
    const store = createSqliteStore({ path: join(dir, 'coordinator.db') })
    let closed = false
    const chain = createFakeSettlementChain()
    chain.failNext('state')
    // A stored epoch, so the start has something to resume and asks the chain.
    store.insertEpoch({
      epoch: 1,
      root: `0x${'12'.repeat(32)}`,
      cumulativeTotal: 1n,
      leaves: 1,
      tree: '{}',
      closedAt: 0,
    })
    await expect(
      startSettlementRuntime({
        config: { mode: 'embedded', ...SETTLEMENT_DEFAULTS, operators: [], epochMinutes: 0 },
        store,
        earnedTotals: () => [],
        log: silentLogger,
        connect: async () => ({
          chain,
          publicRpcUrl: null,
          fresh: true,
          close: async () => {
            closed = true
          },
        }),
      }),
    ).rejects.toThrow(/injected failure before state/)
    expect(closed).toBe(true)
    store.close()
  })

  describe('on a chain that outlives the relay, a start after a crash', () => {
    const start = (chain: FakeSettlementChain, store: ReturnType<typeof createSqliteStore>) =>
      startSettlementRuntime({
        config: {
          mode: 'chain',
          ...SETTLEMENT_DEFAULTS,
          operators: ['operator'],
          epochMinutes: 0,
          rpcUrl: 'http://127.0.0.1:8545',
          posterKey: `0x${'11'.repeat(32)}`,
          distributor: chain.distributor,
          token: chain.token,
        },
        store,
        earnedTotals: () => [{ account: ALICE, total: 7n }],
        log: silentLogger,
        connect: async () => ({ chain, publicRpcUrl: null, fresh: false, close: async () => {} }),
        startReceiptTimeoutMs: 20,
      })

    it('serves with an epoch it cannot post yet (distributor short), and the next close posts it once', async () => {
      const path = join(dir, 'coordinator.db')
      const chain = createFakeSettlementChain()
      chain.mintable = false
      const crashed = createSqliteStore({ path })
      const first = await start(chain, crashed)
      await expect(first.service.closeEpoch()).rejects.toMatchObject({ code: 'POST_REVERTED' })
      crashed.close()

      // Still short: the start used to throw here, and the relay stayed down.
      const store = createSqliteStore({ path })
      const runtime = await start(chain, store)
      expect(store.getEpoch(1)).toMatchObject({ state: 'built' })
      chain.fund(7n)
      expect(await runtime.service.closeEpoch()).toMatchObject({ closed: false, epoch: 1 })
      expect(store.getEpoch(1)).toMatchObject({ state: 'confirmed' })
      expect(chain.posts.map((p) => p.epoch)).toEqual([1])
      await runtime.stop()
      store.close()
    })

    it('serves while the post it left is pending, and confirms it once mined without signing again', async () => {
      const path = join(dir, 'coordinator.db')
      const chain = createFakeSettlementChain()
      chain.autoMine = false
      const crashed = createSqliteStore({ path })
      const first = await start(chain, crashed)
      await expect(first.service.closeEpoch()).rejects.toMatchObject({ code: 'EPOCH_PENDING' })
      expect(crashed.getEpoch(1)).toMatchObject({ state: 'sent' })
      crashed.close()

      // Still pending: the start resends the stored post, waits briefly, and serves anyway.
      const store = createSqliteStore({ path })
      const runtime = await start(chain, store)
      expect(store.getEpoch(1)).toMatchObject({ state: 'sent' })
      chain.mine()
      expect(await runtime.service.closeEpoch()).toMatchObject({ closed: false, epoch: 1 })
      expect(store.getEpoch(1)).toMatchObject({ state: 'confirmed' })
      expect(chain.posts.map((p) => p.epoch)).toEqual([1])
      expect(chain.calls.signPostRoot).toBe(1)
      await runtime.stop()
      store.close()
    })

    it('still refuses to start when the distributor holds fewer roots than this relay confirmed', async () => {
      const path = join(dir, 'coordinator.db')
      const first = createSqliteStore({ path })
      const runtime = await start(createFakeSettlementChain(), first)
      await runtime.service.closeEpoch()
      await runtime.stop()
      first.close()
      const store = createSqliteStore({ path })
      await expect(start(createFakeSettlementChain(), store)).rejects.toMatchObject({
        code: 'SETTLEMENT_UNAVAILABLE',
      })
      store.close()
    })
  })

  it('closes epochs on a timer, one attempt after another, and stops cleanly', async () => {
    const started: number[] = []
    let inFlight = 0
    const timer = createEpochTimer({
      intervalMs: 5,
      log: silentLogger,
      async close(signal) {
        expect(++inFlight).toBe(1)
        started.push(Date.now())
        await new Promise((resolve) => setTimeout(resolve, 10))
        inFlight--
        if (started.length === 2) throw new Error('a failed close is retried at the next tick')
        return { closed: !signal.aborted, message: 'ok' }
      },
    })
    while (started.length < 4) await new Promise((resolve) => setTimeout(resolve, 5))
    await timer.stop()
    const count = started.length
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(started.length).toBe(count)
  })
})

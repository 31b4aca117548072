import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../log.ts'
import type { CoordinatorStore } from '../store/coordinator-store.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import { createEpochCloser, type EpochCloser } from './epoch-closer.ts'
import { loadEpochTree } from './epoch-tree.ts'
import {
  createFakeSettlementChain,
  type FakeSettlementChain,
} from './testing/fake-settlement-chain.ts'

const ALICE = '0x1000000000000000000000000000000000000001'
const BOB = '0x2000000000000000000000000000000000000002'

describe('epoch closer', () => {
  let dir: string
  let path: string
  let stores: CoordinatorStore[]
  let chain: FakeSettlementChain
  let earned: Map<string, bigint>

  const open = () => {
    const store = createSqliteStore({ path })
    stores.push(store)
    return store
  }
  const closerOn = (store: CoordinatorStore, options: { repostMissing?: boolean } = {}) =>
    createEpochCloser({
      store,
      chain,
      earnedTotals: () => [...earned].map(([account, total]) => ({ account, total })),
      unitsPerCredit: 1_000n,
      log: silentLogger,
      receiptTimeoutMs: 50,
      ...options,
    })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-epochs-'))
    path = join(dir, 'coordinator.db')
    stores = []
    chain = createFakeSettlementChain()
    earned = new Map([
      [ALICE, 30n],
      [BOB, 12n],
      // A contributor without a wallet: nothing to claim with, left out of the tree.
      ['peer:12D3KooWnowallet', 99n],
    ])
  })
  afterEach(async () => {
    for (const store of stores) store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('closes an epoch: one tree of every wallet’s cumulative earnings, its root posted once and confirmed', async () => {
    const store = open()
    const outcome = await closerOn(store).close()
    expect(outcome.closed).toBe(true)
    const epoch = store.getEpoch(1)
    expect(epoch).toMatchObject({
      epoch: 1,
      state: 'confirmed',
      cumulativeTotal: 42_000n,
      leaves: 2,
      txHash: chain.posts[0]?.hash,
    })
    expect(chain.posts).toEqual([{ epoch: 1, root: epoch?.root, hash: epoch?.txHash }])
    const tree = StandardMerkleTree.load(JSON.parse(epoch?.tree ?? ''))
    expect(tree.root).toBe(epoch?.root)
    expect([...tree.entries()].map(([, v]) => v)).toEqual([
      [ALICE, '30000'],
      [BOB, '12000'],
    ])
  })

  it('closes no epoch when nothing changed since the last, nor before anyone earned', async () => {
    const store = open()
    earned.clear()
    expect(await closerOn(store).close()).toMatchObject({ closed: false, reason: 'no-earnings' })
    earned.set(ALICE, 5n)
    const closer = closerOn(store)
    expect((await closer.close()).closed).toBe(true)
    expect(await closer.close()).toMatchObject({
      closed: false,
      reason: 'no-change',
      latest: { epoch: 1 },
    })
    earned.set(ALICE, 6n)
    expect(await closer.close()).toMatchObject({ closed: true, epoch: { epoch: 2 } })
    expect(chain.posts.map((p) => p.epoch)).toEqual([1, 2])
  })

  it('runs one close at a time: two at once make one epoch', async () => {
    const closer = closerOn(open())
    const [a, b] = await Promise.all([closer.close(), closer.close()])
    expect([a.closed, b.closed].sort()).toEqual([false, true])
    expect(chain.posts).toHaveLength(1)
  })

  const crashes = [
    ['state', 'before'],
    ['ensureFunded', 'before'],
    ['ensureFunded', 'after'],
    ['signPostRoot', 'before'],
    ['signPostRoot', 'after'],
    ['send', 'before'],
    ['send', 'after'],
    ['outcome', 'before'],
    ['outcome', 'after'],
  ] as const
  it.each(crashes)(
    'a crash at %s (%s) leaves the epoch stored; a new process on the same file posts it exactly once',
    async (method, when) => {
      const first = open()
      // A previous epoch, so the crash hits the second (state is read before closing too).
      await closerOn(first).close()
      earned.set(ALICE, 31n)
      chain.failNext(method, when)
      // Some failures the closer recovers from at once (a broadcast that reached the chain
      // but threw: the chain is asked, and holds the root); the others end the close.
      const crashed = await closerOn(first)
        .close()
        .then(
          () => undefined,
          (e: Error) => e,
        )
      if (crashed) expect(crashed.message).toMatch(/injected failure/)
      // The process dies here: its store is not closed (SIGKILL); a new one opens the file.
      const second = open()
      const restarted = closerOn(second)
      await restarted.resume()
      expect(second.getEpoch(2)?.state ?? 'none').toMatch(/confirmed|none/)
      // Whether or not the crash came before the epoch was stored, the next close ends with
      // epoch 2 posted once, and nothing further.
      const again = await restarted.close()
      expect(chain.posts.map((p) => p.epoch)).toEqual([1, 2])
      expect(second.getEpoch(2)).toMatchObject({ state: 'confirmed', cumulativeTotal: 43_000n })
      expect(second.getEpoch(2)?.root).toBe(chain.posts[1]?.root)
      expect(second.getEpoch(3)).toBeUndefined()
      if (again.closed) expect(again.epoch.epoch).toBe(2)
      expect(await restarted.close()).toMatchObject({ closed: false, reason: 'no-change' })
    },
  )

  it('a root post not mined in time stays sent; dropped, and its nonce taken, it is signed again and posted once', async () => {
    const store = open()
    chain.autoMine = false
    await expect(closerOn(store).close()).rejects.toMatchObject({ code: 'EPOCH_PENDING' })
    expect(store.getEpoch(1)).toMatchObject({ state: 'sent' })
    const firstHash = store.getEpoch(1)?.txHash
    chain.dropPending()
    chain.useNonce()
    chain.autoMine = true
    await closerOn(open()).resume()
    expect(chain.posts.map((p) => p.epoch)).toEqual([1])
    expect(store.getEpoch(1)).toMatchObject({ state: 'confirmed' })
    expect(store.getEpoch(1)?.txHash).not.toBe(firstHash)
  })

  it('a sent post mined while the relay was down is confirmed, not sent again', async () => {
    const store = open()
    chain.autoMine = false
    await expect(closerOn(store).close()).rejects.toMatchObject({ code: 'EPOCH_PENDING' })
    chain.mine()
    const sends = chain.calls.send
    await closerOn(open()).resume()
    expect(store.getEpoch(1)).toMatchObject({ state: 'confirmed' })
    expect(chain.posts).toHaveLength(1)
    // The chain is asked first: it holds the root, so nothing is sent again.
    expect(chain.calls.send).toBe(sends)
  })

  it('a reverted post is an error naming the revert reason, and the epoch is kept for the retry', async () => {
    const store = open()
    chain.mintable = false
    const error = await closerOn(store)
      .close()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'POST_REVERTED' })
    expect((error as Error).message).toMatch(
      /Underfunded: the distributor can pay 0, the root needs 42000/,
    )
    expect(store.getEpoch(1)).toMatchObject({ state: 'built', rawTx: null })
    chain.fund(42_000n)
    const closer = closerOn(store)
    expect(await closer.close()).toMatchObject({ closed: false, reason: 'no-change' })
    expect(store.getEpoch(1)).toMatchObject({ state: 'confirmed' })
    expect(chain.posts.map((p) => p.epoch)).toEqual([1])
  })

  it('on a fresh chain (embedded, redeployed) posts every stored root again, in order; a real chain behind the store is refused', async () => {
    const store = open()
    const closer = closerOn(store)
    await closer.close()
    earned.set(BOB, 20n)
    await closer.close()
    const roots = chain.posts.map((p) => p.root)

    chain = createFakeSettlementChain()
    await expect(closerOn(store).resume()).rejects.toMatchObject({
      code: 'SETTLEMENT_UNAVAILABLE',
      message: expect.stringMatching(/is at epoch 0, but this relay confirmed epoch 1/),
    })
    await closerOn(store, { repostMissing: true }).resume()
    expect(chain.posts.map((p) => [p.epoch, p.root])).toEqual([
      [1, roots[0]],
      [2, roots[1]],
    ])
    expect(store.latestConfirmedEpoch()?.epoch).toBe(2)
  })

  it('refuses a distributor that is ahead of the store, or holds another root for the same epoch', async () => {
    const store = open()
    await closerOn(store).close()
    const other = createFakeSettlementChain()
    chain = other
    await other.ensureFunded(10n, AbortSignal.timeout(1_000))
    for (const epoch of [1, 2]) {
      const tx = await other.signPostRoot(
        epoch,
        `0x${'ab'.repeat(32)}`,
        10n,
        AbortSignal.timeout(1_000),
      )
      await other.send(tx, AbortSignal.timeout(1_000))
    }
    await expect(closerOn(store).resume()).rejects.toThrow(
      /is at epoch 2, beyond this relay's latest \(1\)/,
    )
  })

  it('keeps each epoch’s tree: proofs from it verify against the posted root', async () => {
    const store = open()
    const closer: EpochCloser = closerOn(store)
    await closer.close()
    const latest = closer.latestConfirmed()
    const leaf = latest?.tree.proofOf(BOB.toUpperCase().replace('0X', '0x'))
    expect(leaf?.cumulativeAmount).toBe(12_000n)
    expect(
      StandardMerkleTree.verify(
        latest?.epoch.root ?? '',
        ['address', 'uint256'],
        [BOB, '12000'],
        leaf?.proof ?? [],
      ),
    ).toBe(true)
    expect(loadEpochTree(store.getEpoch(1)?.tree ?? '').root).toBe(chain.posts[0]?.root)
  })
})

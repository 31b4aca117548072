import { type Address, type Hex, type LocalAccount, parseEventLogs } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  leafOf,
  type SettlementFixture,
  startSettlementFixture,
} from '../testing/settlement-fixture.ts'
import { cumulativeMerkleDistributorAbi as abi } from './CumulativeMerkleDistributor.artifact.ts'

/** An address that has never held anything: a fresh contributor's wallet. */
const freshAddress = (): Address => privateKeyToAccount(generatePrivateKey()).address

let f: SettlementFixture
let claimer: LocalAccount
beforeAll(async () => {
  f = await startSettlementFixture()
  // Claims are sent by an account that is neither owner, poster nor payee.
  claimer = f.chain.devAccounts[5]!
}, 60_000)
afterAll(() => f?.close())

const claim = (account: Address, amount: bigint, root: Hex, proof: Hex[], from = claimer) =>
  f.walletOf(from).writeContract({
    address: f.distributor,
    abi,
    functionName: 'claim',
    args: [account, amount, root, proof],
  })
const claimMany = (
  claims: Array<{ account: Address; cumulativeAmount: bigint; proof: Hex[] }>,
  root: Hex,
) =>
  f.walletOf(claimer).writeContract({
    address: f.distributor,
    abi,
    functionName: 'claimMany',
    args: [claims, root],
  })
const mined = async (hash: Hex) => {
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return receipt
}
const postRoot = (from: LocalAccount, epoch: bigint, root: Hex, total: bigint) =>
  f.walletOf(from).writeContract({
    address: f.distributor,
    abi,
    functionName: 'postRoot',
    args: [epoch, root, total],
  })
const read = <F extends 'epoch' | 'merkleRoot' | 'cumulativeTotal' | 'totalClaimed'>(
  functionName: F,
) => f.publicClient.readContract({ address: f.distributor, abi, functionName })
const claimedBy = (account: Address) =>
  f.publicClient.readContract({
    address: f.distributor,
    abi,
    functionName: 'claimed',
    args: [account],
  })

describe('CumulativeMerkleDistributor', () => {
  it('pays a claim exactly its amount, to the account, whoever sends it; a second claim pays nothing', async () => {
    const [alice, bob] = [freshAddress(), freshAddress()]
    const { tree, root } = await f.postEpoch([
      [alice, 1_500_000n],
      [bob, 2_000_000n],
    ])
    const before = await f.balanceOf(f.distributor)
    const paidBefore = await read('totalClaimed')
    const { amount, proof } = leafOf(tree, alice)
    const receipt = await mined(await claim(alice, amount, root, proof))
    expect(await f.balanceOf(alice)).toBe(1_500_000n)
    expect(await f.balanceOf(claimer.address)).toBe(0n)
    expect(await f.balanceOf(f.distributor)).toBe(before - 1_500_000n)
    expect(await claimedBy(alice)).toBe(1_500_000n)
    expect(await read('totalClaimed')).toBe(paidBefore + 1_500_000n)
    const [event] = parseEventLogs({ abi, logs: receipt.logs, eventName: 'Claimed' })
    expect(event?.args).toEqual({
      account: alice,
      amount: 1_500_000n,
      cumulativeAmount: 1_500_000n,
    })

    // The same claim again succeeds and pays nothing.
    const again = await mined(await claim(alice, amount, root, proof))
    expect(parseEventLogs({ abi, logs: again.logs, eventName: 'Claimed' })).toHaveLength(0)
    expect(await f.balanceOf(alice)).toBe(1_500_000n)
    expect(await read('totalClaimed')).toBe(paidBefore + 1_500_000n)
  })

  it('rejects a wrong proof, a wrong amount and a stale root', async () => {
    const [alice, bob] = [freshAddress(), freshAddress()]
    const { tree, root } = await f.postEpoch([
      [alice, 10n],
      [bob, 20n],
    ])
    const a = leafOf(tree, alice)
    const b = leafOf(tree, bob)
    // Bob's proof for Alice's leaf; Alice's proof with Bob's amount.
    await expect(claim(alice, a.amount, root, b.proof)).rejects.toThrow('InvalidProof')
    await expect(claim(alice, 20n, root, a.proof)).rejects.toThrow('InvalidProof')
    // A proof against an older root than the current one is refused before it is checked.
    const { root: newer } = await f.postEpoch([[alice, 1n]])
    await expect(claim(alice, a.amount, root, a.proof)).rejects.toThrow('StaleRoot')
    expect(await read('merkleRoot')).toBe(newer)
    expect(await f.balanceOf(alice)).toBe(0n)
  })

  it('pays cumulative claims across epochs only the difference, and skips an epoch without loss', async () => {
    const alice = freshAddress()
    const other = freshAddress()
    const e1 = await f.postEpoch([
      [alice, 100n],
      [other, 1n],
    ])
    expect(leafOf(e1.tree, alice).amount).toBe(100n)
    await mined(await claim(alice, 100n, e1.root, leafOf(e1.tree, alice).proof))
    expect(await f.balanceOf(alice)).toBe(100n)
    // Epoch 2 is never claimed by Alice; epoch 3's leaf covers it.
    await f.postEpoch([[alice, 150n]])
    const e3 = await f.postEpoch([
      [alice, 150n],
      [other, 1n],
    ])
    expect(leafOf(e3.tree, alice).amount).toBe(400n)
    const receipt = await mined(await claim(alice, 400n, e3.root, leafOf(e3.tree, alice).proof))
    const [event] = parseEventLogs({ abi, logs: receipt.logs, eventName: 'Claimed' })
    expect(event?.args.amount).toBe(300n)
    expect(await f.balanceOf(alice)).toBe(400n)
    expect(await claimedBy(alice)).toBe(400n)
  })

  it('claimMany pays each account of a batch, and only the rest when one already claimed', async () => {
    const accounts = Array.from({ length: 5 }, freshAddress)
    const { tree, root } = await f.postEpoch(accounts.map((a, i) => [a, BigInt(1000 * (i + 1))]))
    const batch = accounts.map((account) => {
      const { amount, proof } = leafOf(tree, account)
      return { account, cumulativeAmount: amount, proof }
    })
    // The first account claims alone first; the batch must still go through for the others.
    await mined(await claim(accounts[0]!, 1000n, root, batch[0]!.proof))
    const paidBefore = await read('totalClaimed')
    const receipt = await mined(await claimMany(batch, root))
    const events = parseEventLogs({ abi, logs: receipt.logs, eventName: 'Claimed' })
    expect(events.map((e) => e.args.account)).toEqual(accounts.slice(1))
    for (const [i, account] of accounts.entries())
      expect(await f.balanceOf(account)).toBe(BigInt(1000 * (i + 1)))
    expect(await read('totalClaimed')).toBe(paidBefore + 2000n + 3000n + 4000n + 5000n)
    // A batch with one bad proof fails whole.
    const bad = [batch[1]!, { ...batch[2]!, proof: batch[3]!.proof }]
    await expect(claimMany(bad, root)).rejects.toThrow('InvalidProof')
  })

  it('refuses a wrong epoch, a decreasing total and an underfunded total', async () => {
    const poster = f.poster
    const epoch = await read('epoch')
    const total = await read('cumulativeTotal')
    const root = `0x${'11'.repeat(32)}` as Hex
    await expect(postRoot(poster, epoch, root, total)).rejects.toThrow('WrongEpoch')
    await expect(postRoot(poster, epoch + 2n, root, total)).rejects.toThrow('WrongEpoch')
    await expect(postRoot(poster, epoch + 1n, root, total - 1n)).rejects.toThrow('TotalDecreased')
    // The distributor can pay what it holds plus what it paid, not a unit more.
    const covered = (await f.balanceOf(f.distributor)) + (await read('totalClaimed'))
    await expect(postRoot(poster, epoch + 1n, root, covered + 1n)).rejects.toThrow('Underfunded')
    await mined(await postRoot(poster, epoch + 1n, root, covered))
    expect(await read('epoch')).toBe(epoch + 1n)
  })

  it('takes roots from a rotated poster only, and only the owner rotates', async () => {
    const [, , , , newPoster] = f.chain.devAccounts as LocalAccount[]
    const rotate = (from: LocalAccount, to: Address) =>
      f.walletOf(from).writeContract({
        address: f.distributor,
        abi,
        functionName: 'setRootPoster',
        args: [to],
      })
    await expect(rotate(f.poster, newPoster!.address)).rejects.toThrow('OwnableUnauthorizedAccount')
    await mined(await rotate(f.owner, newPoster!.address))
    const epoch = await read('epoch')
    const total = await read('cumulativeTotal')
    const root = `0x${'22'.repeat(32)}` as Hex
    await expect(postRoot(f.poster, epoch + 1n, root, total)).rejects.toThrow('NotRootPoster')
    await mined(await postRoot(newPoster!, epoch + 1n, root, total))
    expect(await read('merkleRoot')).toBe(root)
    // Hand it back, so the fixture's poster posts the next tests' epochs.
    await mined(await rotate(f.owner, f.poster.address))
    await expect(postRoot(newPoster!, epoch + 2n, root, total)).rejects.toThrow('NotRootPoster')
  })

  it('stops claims while paused (root posts go on), and pays them after unpause', async () => {
    const alice = freshAddress()
    const { tree, root } = await f.postEpoch([
      [alice, 77n],
      [freshAddress(), 1n],
    ])
    const { proof } = leafOf(tree, alice)
    const owner = f.walletOf(f.owner)
    await expect(
      f.walletOf(f.poster).writeContract({ address: f.distributor, abi, functionName: 'pause' }),
    ).rejects.toThrow('OwnableUnauthorizedAccount')
    const paused = await mined(
      await owner.writeContract({ address: f.distributor, abi, functionName: 'pause' }),
    )
    expect(parseEventLogs({ abi, logs: paused.logs, eventName: 'Paused' })[0]?.args).toEqual({
      account: f.owner.address,
    })
    const isPaused = () =>
      f.publicClient.readContract({ address: f.distributor, abi, functionName: 'paused' })
    expect(await isPaused()).toBe(true)
    await expect(
      owner.writeContract({ address: f.distributor, abi, functionName: 'pause' }),
    ).rejects.toThrow('EnforcedPause')
    await expect(claim(alice, 77n, root, proof)).rejects.toThrow('EnforcedPause')
    await expect(
      claimMany([{ account: alice, cumulativeAmount: 77n, proof }], root),
    ).rejects.toThrow('EnforcedPause')
    // Root posts go on while paused: nothing earned meanwhile is lost.
    const next = await f.postEpoch([[alice, 3n]])
    await mined(await owner.writeContract({ address: f.distributor, abi, functionName: 'unpause' }))
    expect(await isPaused()).toBe(false)
    await expect(
      owner.writeContract({ address: f.distributor, abi, functionName: 'unpause' }),
    ).rejects.toThrow('ExpectedPause')
    await mined(await claim(alice, 80n, next.root, leafOf(next.tree, alice).proof))
    expect(await f.balanceOf(alice)).toBe(80n)
  })
})

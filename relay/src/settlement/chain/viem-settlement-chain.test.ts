import { createServer, type Server } from 'node:net'
import type { ClaimProof } from '@tabswarm/protocol'
import { type Address, type Hex, toFunctionSelector } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cumulativeMerkleDistributorAbi as abi } from '../contracts/CumulativeMerkleDistributor.artifact.ts'
import {
  type EpochTree,
  leafOf,
  type SettlementFixture,
  startSettlementFixture,
} from '../testing/settlement-fixture.ts'
import type { SettlementChain } from './settlement-chain.ts'
import { createViemSettlementChain } from './viem-settlement-chain.ts'

const freshAddress = (): Address => privateKeyToAccount(generatePrivateKey()).address
const signal = () => AbortSignal.timeout(20_000)

let f: SettlementFixture
let chain: SettlementChain
const connect = (devMint: boolean) =>
  createViemSettlementChain({
    rpcUrl: f.chain.rpcUrl,
    posterKey: f.posterKey,
    distributor: f.distributor,
    token: f.token,
    devMint,
    chainId: f.chain.chainId,
    pollingIntervalMs: 50,
    signal: signal(),
  })
beforeAll(async () => {
  f = await startSettlementFixture()
  chain = await connect(true)
}, 60_000)
afterAll(() => f?.close())

const proofOf = (tree: EpochTree, root: Hex, epoch: number, account: Address): ClaimProof => {
  const { amount, proof } = leafOf(tree, account)
  return { epoch, root, account, cumulativeAmount: amount.toString(), proof }
}

describe('createViemSettlementChain', () => {
  it('reads the token and the distributor', async () => {
    expect(chain.chainId).toBe(f.chain.chainId)
    expect(chain.poster).toBe(f.poster.address)
    expect(await chain.tokenInfo(signal())).toEqual({ symbol: 'TSWC', decimals: 6 })
    expect(await chain.state(signal())).toEqual({
      epoch: 0,
      merkleRoot: `0x${'00'.repeat(32)}`,
      cumulativeTotal: 0n,
      totalClaimed: 0n,
      balance: 0n,
    })
  })

  it('refuses an RPC URL of another chain', async () => {
    await expect(
      createViemSettlementChain({
        rpcUrl: f.chain.rpcUrl,
        posterKey: f.posterKey,
        distributor: f.distributor,
        token: f.token,
        devMint: false,
        chainId: 1,
        signal: signal(),
      }),
    ).rejects.toMatchObject({ code: 'WRONG_CHAIN' })
  })

  it('mints only the shortfall on a development chain, and names the transfer elsewhere', async () => {
    await chain.ensureFunded(1_000n, signal())
    expect((await chain.state(signal())).balance).toBe(1_000n)
    await chain.ensureFunded(1_000n, signal())
    await chain.ensureFunded(600n, signal())
    expect((await chain.state(signal())).balance).toBe(1_000n)
    await chain.ensureFunded(1_250n, signal())
    expect((await chain.state(signal())).balance).toBe(1_250n)

    const production = await connect(false)
    await production.ensureFunded(1_250n, signal())
    const short = production.ensureFunded(2_000n, signal())
    await expect(short).rejects.toMatchObject({ code: 'UNDERFUNDED' })
    await expect(short).rejects.toThrow(
      `Transfer 750 base units of ${f.token} to ${f.distributor}, then close the epoch again.`,
    )
    expect((await chain.state(signal())).balance).toBe(1_250n)
  })

  it('signs a root post whose hash is known before sending; a resend is harmless', async () => {
    const { epoch, cumulativeTotal } = await chain.state(signal())
    const root = `0x${'ab'.repeat(32)}` as Hex
    const total = cumulativeTotal + 100n
    await chain.ensureFunded(total, signal())
    const tx = await chain.signPostRoot(epoch + 1, root, total, signal())
    // Nothing sent yet: the chain does not know it.
    expect(await chain.outcome(tx.hash, signal(), 200)).toBe('unknown')
    await chain.send(tx, signal())
    expect(await chain.outcome(tx.hash, signal(), 5_000)).toBe('mined')
    await chain.send(tx, signal())
    await chain.send(tx, signal())
    const state = await chain.state(signal())
    expect(state).toMatchObject({ epoch: epoch + 1, merkleRoot: root, cumulativeTotal: total })
    // A post the contract would refuse is refused when signing, with the contract's reason.
    await expect(chain.signPostRoot(epoch + 1, root, total, signal())).rejects.toThrow(
      `Posting the root of epoch ${epoch + 1} would revert: WrongEpoch(${epoch + 2}, ${epoch + 1}).`,
    )
  })

  it('reports a signed post whose nonce another transaction took, and one that reverted', async () => {
    const { epoch, cumulativeTotal, balance, totalClaimed } = await chain.state(signal())
    const root = `0x${'cd'.repeat(32)}` as Hex
    const stale = await chain.signPostRoot(epoch + 1, root, cumulativeTotal, signal())
    // A mint takes the poster's next nonce first.
    await chain.ensureFunded(balance + totalClaimed + 1n, signal())
    await expect(chain.send(stale, signal())).rejects.toMatchObject({ code: 'NONCE_TAKEN' })

    // Signed while the key was the poster, mined after it was rotated away: status 0.
    const doomed = await chain.signPostRoot(epoch + 1, root, cumulativeTotal, signal())
    const owner = f.walletOf(f.owner)
    const rotate = async (to: Address) =>
      f.publicClient.waitForTransactionReceipt({
        hash: await owner.writeContract({
          address: f.distributor,
          abi,
          functionName: 'setRootPoster',
          args: [to],
        }),
      })
    await rotate(f.chain.devAccounts[9]!.address)
    try {
      await chain.send(doomed, signal())
      expect(await chain.outcome(doomed.hash, signal(), 5_000)).toBe('reverted')
    } finally {
      await rotate(f.poster.address)
    }
  })

  it('submits one claim with claim and several with claimMany, paying the accounts', async () => {
    const accounts = [freshAddress(), freshAddress(), freshAddress()]
    const { tree, root, epoch } = await f.postEpoch(accounts.map((a, i) => [a, BigInt(10 + i)]))
    const selector = async (hash: Hex) =>
      (await f.publicClient.getTransaction({ hash })).input.slice(0, 10)
    const single = await chain.submitClaims([proofOf(tree, root, epoch, accounts[0]!)], signal())
    expect(await selector(single)).toBe(
      toFunctionSelector(abi.find((x) => x.type === 'function' && x.name === 'claim')!),
    )
    const many = await chain.submitClaims(
      accounts.slice(1).map((a) => proofOf(tree, root, epoch, a)),
      signal(),
    )
    expect(await selector(many)).toBe(
      toFunctionSelector(abi.find((x) => x.type === 'function' && x.name === 'claimMany')!),
    )
    for (const [i, account] of accounts.entries()) {
      expect(await f.balanceOf(account)).toBe(BigInt(10 + i))
      expect(await chain.claimed(account, signal())).toBe(BigInt(10 + i))
    }
    // After a newer root, the old proofs are refused with the contract's reason.
    await f.postEpoch([[accounts[0]!, 1n]])
    await expect(
      chain.submitClaims([proofOf(tree, root, epoch, accounts[0]!)], signal()),
    ).rejects.toThrow(/Claiming for 0x[0-9a-fA-F]{40} was refused: StaleRoot\(/)
  })

  it('gives up on a node that never answers, within its timeout', async () => {
    const silent: Server = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    try {
      const started = performance.now()
      await expect(
        createViemSettlementChain({
          rpcUrl: `http://127.0.0.1:${port}`,
          posterKey: f.posterKey,
          distributor: f.distributor,
          token: f.token,
          devMint: false,
          timeoutMs: 300,
          signal: signal(),
        }),
      ).rejects.toMatchObject({ code: 'CHAIN_TIMEOUT' })
      expect(performance.now() - started).toBeLessThan(3_000)
    } finally {
      silent.close()
    }
  })
})

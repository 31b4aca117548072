import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { createClient } from '@tabswarm/sdk'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  getAddress,
  type Hex,
  http,
  type PublicClient,
  toFunctionSelector,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deploySettlement } from '../../relay/src/settlement/chain/deploy-settlement.ts'
import { type LocalChain, startLocalChain } from '../../relay/src/settlement/chain/local-chain.ts'
import { creditTokenAbi } from '../../relay/src/settlement/contracts/CreditToken.artifact.ts'
import { cumulativeMerkleDistributorAbi } from '../../relay/src/settlement/contracts/CumulativeMerkleDistributor.artifact.ts'
import { startWorkerProcess } from '../support/headless-worker-process.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/**
 * The promise, with every part real: after a SIGKILL mid-epoch and a restart,
 * nothing is posted twice and nothing is lost.
 *
 * The chain (EDR, in this process) outlives the relay (`tabswarm start`, a child process on
 * a kept data dir, settling there with `TABSWARM_SETTLEMENT=chain`); headless workers earn
 * into their own wallets by computing matmuls. The relay is killed at each step a close can
 * stand at, with automine off so its root post can be caught in the pending pool:
 * 1. epoch built, nothing sent (the distributor was short: `UNDERFUNDED`);
 * 2. root post pending, mined before the restart: the restart finds it confirmed;
 * 3. root post pending at the restart, mined while the relay resumes: it waits, and does
 *    not post again.
 * Then the chain and the relay's store must agree exactly, and claims pay every leaf.
 */

/** How long one step may take on two shared cores before the test says what it waited for (ms). */
const STEP_MS = 60_000

describe('settlement across a SIGKILL and a restart', () => {
  let chain: LocalChain
  let publicClient: PublicClient
  let token: Address
  let distributor: Address
  let dataDir: string
  let relay: TabswarmProcess | undefined
  let relayEnv: Record<string, string>
  /** Each worker's wallet key file, and its address: the same wallets earn in every round. */
  const wallets: Array<{ keyFile: string; address: Address }> = []

  beforeAll(async () => {
    chain = await startLocalChain({ port: 0 })
    const owner = chain.devAccounts[0]!
    const deployment = await deploySettlement({
      rpcUrl: chain.rpcUrl,
      deployer: owner,
      signal: AbortSignal.timeout(STEP_MS),
    })
    ;({ token, distributor } = deployment)
    publicClient = createPublicClient({ transport: http(chain.rpcUrl), pollingInterval: 50 })
    dataDir = await mkdtemp(join(tmpdir(), 'tabswarm-restart-'))
    for (const i of [0, 1]) {
      const key = generatePrivateKey()
      const keyFile = join(dataDir, `worker-${i}.key`)
      await writeFile(keyFile, `${key}\n`, { mode: 0o600 })
      wallets.push({ keyFile, address: privateKeyToAccount(key).address })
    }
    relayEnv = {
      TABSWARM_SETTLEMENT: 'chain',
      TABSWARM_CHAIN_RPC_URL: chain.rpcUrl,
      TABSWARM_SETTLEMENT_KEY: chain.devPrivateKeys[0]!,
      TABSWARM_DISTRIBUTOR_ADDRESS: distributor,
      TABSWARM_TOKEN_ADDRESS: token,
      TABSWARM_EPOCH_MINUTES: '0',
      // Nine tiles a round, not one: both workers, both online before the job, get some.
      TABSWARM_TILE_SIZE: '32',
    }
    relay = await startRelay()
  })
  afterAll(async () => {
    await relay?.stop()
    await chain?.close()
    if (dataDir != null) await rm(dataDir, { recursive: true, force: true })
  })

  /** `tabswarm start` on the kept data dir, settling on the test's chain. */
  const startRelay = (onStderr?: (chunk: string) => void) =>
    startTabswarmProcess({
      env: relayEnv,
      dataDir,
      timeoutMs: STEP_MS,
      ...(onStderr ? { onStderr } : {}),
    })

  /** What a crash leaves: no drain, no flush, no goodbye. */
  async function sigkill(killed: TabswarmProcess): Promise<void> {
    const exited = new Promise((resolve) => killed.process.once('exit', resolve))
    killed.process.kill('SIGKILL')
    await exited
  }

  const rpc = (method: string, params: unknown[] = []) =>
    publicClient.request({ method, params } as never) as Promise<unknown>
  const setAutomine = (on: boolean) => rpc('evm_setAutomine', [on])

  async function api<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await fetch(`${relay!.url}${path}`, {
      ...init,
      signal: AbortSignal.timeout(STEP_MS),
    })
    const body = await response.json()
    if (!response.ok)
      throw new Error(
        `${init?.method ?? 'GET'} ${path}: ${response.status} ${JSON.stringify(body)}`,
      )
    return body as T
  }
  const earned = async (address: Address) =>
    BigInt((await api<{ earned: string }>(`/v1/accounts/${address}`)).earned)

  /** Polls `check` until it returns a value, or fails naming what it waited for. */
  async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + STEP_MS
    for (;;) {
      const value = await check()
      if (value !== undefined) return value
      if (Date.now() > deadline)
        throw new Error(`timed out after ${STEP_MS} ms waiting for ${what}\n${relay?.logs()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /**
   * One round of verified work: both wallets' workers compute a matmul submitted through the
   * SDK, then leave (the relay's ports change at each restart, so each round has its own).
   * Fails unless a wallet earned in it.
   */
  async function earnRound(seed: number): Promise<void> {
    const before = await Promise.all(wallets.map((w) => earned(w.address)))
    const workers = wallets.map((w) => startWorkerProcess(relay!.url, ['--wallet-file', w.keyFile]))
    try {
      // Both wallets earn: the job waits until both workers are online, so neither finds
      // every tile taken (under load one worker could start seconds after the other).
      await until('both workers online', async () => {
        const health = await api<{ contributorsOnline?: number }>('/v1/health')
        return (health.contributorsOnline ?? 0) >= wallets.length ? true : undefined
      })
      const client = createClient({ relay: relay!.url })
      const [m, k, n] = [96, 48, 96]
      await client.matmul(
        { shape: [m, k], data: randomMatrix(m, k, seed) },
        { shape: [k, n], data: randomMatrix(k, n, seed + 1) },
        { timeoutMs: STEP_MS },
      )
      const after = await Promise.all(wallets.map((w) => earned(w.address)))
      expect(
        after.some((a, i) => a > before[i]!),
        'a wallet earned in this round',
      ).toBe(true)
    } finally {
      await Promise.all(workers.map((w) => w.interrupt(10_000)))
    }
  }

  /** Asks the relay to close an epoch, without waiting for its answer (it may never come). */
  function closeInBackground(): Promise<Response | Error> {
    return fetch(`${relay!.url}/v1/settlement/epochs`, {
      method: 'POST',
      signal: AbortSignal.timeout(STEP_MS),
    }).catch((err: Error) => err)
  }

  /** Waits until epoch `n`'s root post is stored as sent and sits in the chain's pending pool. */
  async function pendingPost(n: number): Promise<Hex> {
    return until(`epoch ${n}'s root post in the pending pool`, async () => {
      const epoch = await api<{ state: string; txHash: Hex | null }>(`/v1/settlement/epochs/${n}`)
        // Not closed yet: the relay is still building it.
        .catch(() => undefined)
      if (epoch?.state !== 'sent' || epoch.txHash == null) return undefined
      const tx = (await rpc('eth_getTransactionByHash', [epoch.txHash])) as {
        blockNumber: Hex | null
      } | null
      return tx != null && tx.blockNumber == null ? epoch.txHash : undefined
    })
  }

  const distributorEpoch = async () =>
    Number(
      await publicClient.readContract({
        address: distributor,
        abi: cumulativeMerkleDistributorAbi,
        functionName: 'epoch',
      }),
    )

  it('kill with the epoch built and nothing sent (distributor short): the relay starts anyway, and a restart posts it once', async () => {
    await earnRound(1)
    const short = await fetch(`${relay!.url}/v1/settlement/epochs`, {
      method: 'POST',
      signal: AbortSignal.timeout(STEP_MS),
    })
    const refusal = (await short.json()) as { error: { code: string } }
    expect(short.status, JSON.stringify(refusal)).toBe(503)
    expect(refusal.error.code).toBe('UNDERFUNDED')
    expect(await api('/v1/settlement/epochs/1')).toMatchObject({ state: 'built', txHash: null })
    await sigkill(relay!)

    // Still short: the relay starts all the same (it has work to coordinate), keeps epoch 1
    // built and says why it is not posted.
    relay = await startRelay()
    expect(await api('/v1/settlement/epochs/1')).toMatchObject({ state: 'built', txHash: null })
    expect(relay.logs()).toMatch(/"code":"UNDERFUNDED"/)
    expect(await distributorEpoch()).toBe(0)

    // Production funds the distributor by a transfer; here the token's owner mints what this
    // test's roots need, with room to spare. Then a kill, with still nothing sent.
    const owner = createWalletClient({
      account: chain.devAccounts[0]!,
      transport: http(chain.rpcUrl),
    })
    await publicClient.waitForTransactionReceipt({
      hash: await owner.writeContract({
        address: token,
        abi: creditTokenAbi,
        functionName: 'mint',
        args: [distributor, 10n ** 15n],
        chain: null,
      }),
      timeout: STEP_MS,
    })
    await sigkill(relay)

    // The start resumes the built epoch: signs, sends, confirms.
    relay = await startRelay()
    expect(await api('/v1/settlement/epochs/1')).toMatchObject({ state: 'confirmed' })
    expect(await distributorEpoch()).toBe(1)
  })

  it('kill with the root post pending, mined before the restart: the restart confirms it, sends nothing', async () => {
    await earnRound(3)
    await setAutomine(false)
    const answer = closeInBackground()
    const txHash = await pendingPost(2)
    await sigkill(relay!)
    expect(await answer).toBeInstanceOf(Error)
    const nonce = await publicClient.getTransactionCount({ address: chain.devAccounts[0]!.address })
    await rpc('evm_mine')
    await setAutomine(true)
    expect((await publicClient.getTransactionReceipt({ hash: txHash })).status).toBe('success')

    relay = await startRelay()
    expect(await api<{ state: string; txHash: Hex }>('/v1/settlement/epochs/2')).toMatchObject({
      state: 'confirmed',
      txHash,
    })
    expect(await distributorEpoch()).toBe(2)
    // The poster sent nothing after the mined post (its nonce moved by that one alone).
    expect(
      await publicClient.getTransactionCount({
        address: chain.devAccounts[0]!.address,
        blockTag: 'pending',
      }),
    ).toBe(nonce + 1)
  })

  it('kill with the root post pending, restart before it is mined: the relay waits, posts once', async () => {
    await earnRound(5)
    await setAutomine(false)
    const answer = closeInBackground()
    const txHash = await pendingPost(3)
    await sigkill(relay!)
    expect(await answer).toBeInstanceOf(Error)

    // The restart finds epoch 3 sent and resends the same signed bytes (the pool knows them),
    // then waits for their receipt: the block is mined while it waits.
    let log = ''
    const restarting = startRelay((chunk) => {
      log += chunk
    })
    // Awaited below; a failed start must not go unhandled meanwhile.
    restarting.catch(() => {})
    await until('the restarted relay resuming epoch 3', async () =>
      /"msg":"resuming an unfinished epoch","epoch":3,"state":"sent"/.test(log) ? true : undefined,
    )
    const pool = (await rpc('eth_getBlockByNumber', ['pending', false])) as { transactions: Hex[] }
    expect(pool.transactions, 'only the stored post is pending').toEqual([txHash])
    await rpc('evm_mine')
    await setAutomine(true)
    relay = await restarting
    expect(await api<{ state: string; txHash: Hex }>('/v1/settlement/epochs/3')).toMatchObject({
      state: 'confirmed',
      txHash,
    })
    // It waited for the stored post: it never signed another.
    expect(relay.logs()).not.toMatch(/signing it again/)
  })

  it('the chain and the store agree: one root per epoch, every credit in it, claims pay each leaf', async () => {
    // Nothing new earned: closing now closes nothing, and posts nothing.
    const again = await api<{ closed: boolean; epoch: number }>('/v1/settlement/epochs', {
      method: 'POST',
    })
    expect(again).toMatchObject({ closed: false, epoch: 3 })

    const { epochs } = await api<{ epochs: Array<{ epoch: number; state: string }> }>(
      '/v1/settlement/epochs?limit=100',
    )
    const confirmed = epochs.filter((e) => e.state === 'confirmed').map((e) => e.epoch)
    expect(confirmed.sort()).toEqual([1, 2, 3])
    expect(epochs).toHaveLength(3)
    expect(await distributorEpoch()).toBe(confirmed.length)

    // Exactly one RootPosted per epoch, and no other postRoot transaction at all (not even a
    // reverted duplicate): every block's transactions to the distributor are read.
    const posted = await publicClient.getContractEvents({
      address: distributor,
      abi: cumulativeMerkleDistributorAbi,
      eventName: 'RootPosted',
      fromBlock: 0n,
    })
    expect(posted.map((e) => Number(e.args.epoch))).toEqual([1, 2, 3])
    const postRoot = toFunctionSelector('postRoot(uint64,bytes32,uint256)')
    const latest = await publicClient.getBlockNumber()
    let posts = 0
    for (let b = 0n; b <= latest; b++) {
      const block = await publicClient.getBlock({ blockNumber: b, includeTransactions: true })
      for (const tx of block.transactions)
        if (tx.to?.toLowerCase() === distributor.toLowerCase() && tx.input.startsWith(postRoot))
          posts++
    }
    expect(posts, 'postRoot transactions on chain').toBe(3)

    // The chain's root is the stored tree's; every leaf is the wallet's ledger earnings.
    const { unitsPerCredit } = await api<{ unitsPerCredit: string }>('/v1/settlement')
    const view = await api<{ root: Hex; tree: unknown }>('/v1/settlement/epochs/3')
    const tree = StandardMerkleTree.load(view.tree as never) as StandardMerkleTree<[string, string]>
    expect(tree.root).toBe(view.root)
    expect(
      await publicClient.readContract({
        address: distributor,
        abi: cumulativeMerkleDistributorAbi,
        functionName: 'merkleRoot',
      }),
    ).toBe(view.root)
    const leaves = new Map([...tree.entries()].map(([, [a, v]]) => [getAddress(a), BigInt(v)]))
    for (const { address } of wallets) {
      const credits = await earned(address)
      expect(credits).toBeGreaterThan(0n)
      expect(leaves.get(address), `${address}'s leaf`).toBe(credits * BigInt(unitsPerCredit))
    }
    // Each epoch's total grew: every round's earnings went into the next root.
    const totals = posted.map((e) => e.args.cumulativeTotal as bigint)
    expect(totals[0]).toBeGreaterThan(0n)
    expect(totals[1]).toBeGreaterThan(totals[0]!)
    expect(totals[2]).toBeGreaterThan(totals[1]!)

    // Claims pay each wallet exactly its leaf.
    await api('/v1/settlement/claims', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accounts: wallets.map((w) => w.address) }),
    })
    for (const { address } of wallets)
      expect(
        await publicClient.readContract({
          address: token,
          abi: creditTokenAbi,
          functionName: 'balanceOf',
          args: [address],
        }),
      ).toBe(leaves.get(address))
  })
})

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import type { ClaimProof } from '@tabswarm/protocol'
import { bytesToHex, hexToBytes, keccak256 } from 'viem'
import type {
  Address,
  DistributorState,
  Hex,
  SettlementChain,
  SignedTransaction,
  TransactionOutcome,
} from '../chain/settlement-chain.ts'

type Method = 'state' | 'ensureFunded' | 'signPostRoot' | 'send' | 'outcome' | 'submitClaims'

interface PostRootTx {
  nonce: number
  epoch: number
  root: Hex
  total: string
}

/**
 * An in-memory distributor behind the `SettlementChain` interface, with the contract's rules
 * (`postRoot` only for `epoch + 1`, a total that never shrinks, funds that cover it; claims
 * against the current root with a valid proof), the poster's nonces, a mempool, and failure
 * injection: `failNext(method, 'before')` throws before the call has any effect,
 * `failNext(method, 'after')` lets it take effect and then throws, as a process killed just
 * after the chain accepted a transaction would see it.
 */
export interface FakeSettlementChain extends SettlementChain {
  failNext(method: Method, when?: 'before' | 'after'): void
  /** Roots the distributor accepted, in order. */
  readonly posts: Array<{ epoch: number; root: Hex; hash: Hex }>
  /** Sent transactions wait in the mempool until `mine()` (default: mined as sent). */
  autoMine: boolean
  /** Mines every transaction waiting in the mempool. */
  mine(): void
  /** The mempool forgets everything waiting (a restarted node, an evicted transaction). */
  dropPending(): void
  /** Another transaction of the poster's key takes its next nonce. */
  useNonce(): void
  /** Whether `ensureFunded` mints (a development chain) or only checks. @default true */
  mintable: boolean
  /** Sends tokens to the distributor. */
  fund(amount: bigint): void
  /** Calls made, by method. */
  readonly calls: Record<Method, number>
}

const POSTER: Address = '0x00000000000000000000000000000000000000a1'

export interface FakeSettlementChainOptions {
  /**
   * Keeps the chain's state in this JSON file, written after every change and read at
   * creation: a chain that outlives a process killed in the middle of a close.
   */
  file?: string
}

export function createFakeSettlementChain(
  options: FakeSettlementChainOptions = {},
): FakeSettlementChain {
  const state: DistributorState = {
    epoch: 0,
    merkleRoot: `0x${'00'.repeat(32)}`,
    cumulativeTotal: 0n,
    totalClaimed: 0n,
    balance: 0n,
  }
  const claimed = new Map<string, bigint>()
  const failures = new Map<Method, 'before' | 'after'>()
  const pending = new Map<Hex, PostRootTx>()
  const outcomes = new Map<Hex, TransactionOutcome>()
  const posts: Array<{ epoch: number; root: Hex; hash: Hex }> = []
  let nonce = 0
  let claimTxs = 0

  const bigints = (_: string, value: unknown) =>
    typeof value === 'bigint' ? { bigint: value.toString() } : value
  const revive = (_: string, value: unknown) =>
    value != null && typeof value === 'object' && 'bigint' in value
      ? BigInt((value as { bigint: string }).bigint)
      : value
  function persist(): void {
    if (options.file == null) return
    const snapshot = {
      state,
      claimed: [...claimed],
      pending: [...pending],
      outcomes: [...outcomes],
      posts,
      nonce,
      claimTxs,
    }
    // Written whole, then renamed: a kill mid-write leaves the previous state.
    writeFileSync(`${options.file}.tmp`, JSON.stringify(snapshot, bigints))
    renameSync(`${options.file}.tmp`, options.file)
  }
  if (options.file != null && existsSync(options.file)) {
    const saved = JSON.parse(readFileSync(options.file, 'utf8'), revive)
    Object.assign(state, saved.state)
    for (const [k, v] of saved.claimed) claimed.set(k, v)
    for (const [k, v] of saved.pending) pending.set(k, v)
    for (const [k, v] of saved.outcomes) outcomes.set(k, v)
    posts.push(...saved.posts)
    nonce = saved.nonce
    claimTxs = saved.claimTxs
  }
  const calls: Record<Method, number> = {
    state: 0,
    ensureFunded: 0,
    signPostRoot: 0,
    send: 0,
    outcome: 0,
    submitClaims: 0,
  }
  async function guarded<T>(method: Method, signal: AbortSignal, effect: () => T): Promise<T> {
    signal.throwIfAborted()
    calls[method]++
    const failure = failures.get(method)
    failures.delete(method)
    if (failure === 'before') throw new Error(`injected failure before ${method}`)
    const value = effect()
    persist()
    if (failure === 'after') throw new Error(`injected failure after ${method}`)
    return value
  }

  function execute(hash: Hex, tx: PostRootTx): void {
    pending.delete(hash)
    nonce = tx.nonce + 1
    const total = BigInt(tx.total)
    const ok =
      tx.epoch === state.epoch + 1 &&
      total >= state.cumulativeTotal &&
      state.balance + state.totalClaimed >= total
    outcomes.set(hash, ok ? 'mined' : 'reverted')
    if (!ok) return
    state.epoch = tx.epoch
    state.merkleRoot = tx.root
    state.cumulativeTotal = total
    posts.push({ epoch: tx.epoch, root: tx.root, hash })
  }

  const chain: FakeSettlementChain = {
    chainId: 31337,
    distributor: '0x00000000000000000000000000000000000000d1',
    token: '0x00000000000000000000000000000000000000e1',
    poster: POSTER,
    posts,
    autoMine: true,
    mintable: true,
    calls,

    failNext(method, when = 'before') {
      failures.set(method, when)
    },
    mine() {
      for (const [hash, tx] of [...pending].sort(([, a], [, b]) => a.nonce - b.nonce))
        execute(hash, tx)
      persist()
    },
    dropPending() {
      pending.clear()
      persist()
    },
    useNonce() {
      nonce++
      persist()
    },
    fund(amount) {
      state.balance += amount
      persist()
    },

    tokenInfo: async () => ({ symbol: 'TSC', decimals: 18 }),
    state: (signal) => guarded('state', signal, () => ({ ...state })),
    claimed: async (account) => claimed.get(account.toLowerCase()) ?? 0n,

    ensureFunded: (total, signal) =>
      guarded('ensureFunded', signal, () => {
        const shortfall = total - (state.balance + state.totalClaimed)
        if (shortfall > 0n && chain.mintable) state.balance += shortfall
      }),

    signPostRoot: (epoch, root, total, signal) =>
      guarded('signPostRoot', signal, (): SignedTransaction => {
        const tx: PostRootTx = { nonce, epoch, root, total: total.toString() }
        const raw = bytesToHex(new TextEncoder().encode(JSON.stringify(tx)))
        return { raw, hash: keccak256(raw) }
      }),

    send: (signed, signal) =>
      guarded('send', signal, () => {
        if (outcomes.has(signed.hash) || pending.has(signed.hash)) return
        const tx = JSON.parse(new TextDecoder().decode(hexToBytes(signed.raw))) as PostRootTx
        if (tx.nonce < nonce) throw new Error(`nonce too low: the account's next is ${nonce}`)
        pending.set(signed.hash, tx)
        if (chain.autoMine) chain.mine()
      }),

    outcome: (hash, signal) => guarded('outcome', signal, () => outcomes.get(hash) ?? 'unknown'),

    submitClaims: (claims: ClaimProof[], signal) =>
      guarded('submitClaims', signal, (): Hex => {
        for (const c of claims) {
          if (c.root !== state.merkleRoot)
            throw new Error(`StaleRoot(${state.merkleRoot}, ${c.root})`)
          const leaf = [c.account, c.cumulativeAmount]
          if (!StandardMerkleTree.verify(c.root, ['address', 'uint256'], leaf, c.proof))
            throw new Error(`InvalidProof(${c.account}, ${c.cumulativeAmount})`)
          const already = claimed.get(c.account.toLowerCase()) ?? 0n
          const amount = BigInt(c.cumulativeAmount) - already
          if (amount <= 0n) continue
          claimed.set(c.account.toLowerCase(), BigInt(c.cumulativeAmount))
          state.totalClaimed += amount
          state.balance -= amount
        }
        return keccak256(bytesToHex(new TextEncoder().encode(`claims:${++claimTxs}`)))
      }),
  }
  return chain
}

import { type Clock, systemClock } from '../coordinator/clock.ts'
import type { Logger } from '../log.ts'
import type {
  DistributorState,
  SettlementChain,
  SignedTransaction,
} from './chain/settlement-chain.ts'
import type { EpochStore, StoredEpoch } from './epoch-store.ts'
import { buildEpochTree, type EpochTree, loadEpochTree } from './epoch-tree.ts'
import { SettlementError } from './settlement-error.ts'

export interface EpochCloserOptions {
  /** Where epochs live; `flush()` makes each step durable before the chain sees the next. */
  store: EpochStore & { flush(): void }
  chain: SettlementChain
  /**
   * Cumulative verified earnings per payee, in ledger credits (the ledger's `earnedTotals`).
   * Payees that are not wallet addresses are left out of the tree.
   */
  earnedTotals: () => Iterable<{ account: string; total: bigint }>
  /** Token base units per ledger credit. */
  unitsPerCredit: bigint
  log: Logger
  clock?: Clock
  /**
   * The chain may have lost every root this relay posted (the embedded chain is new at each
   * start): post again, in order, each stored epoch the distributor lacks. Off for a real
   * chain, where a distributor behind the store means the relay points at the wrong one.
   * @default false
   */
  repostMissing?: boolean
  /** Longest wait for one chain call (a read, a signature, a broadcast). @default 30_000 */
  callTimeoutMs?: number
  /** Longest wait for a root post's receipt before it is left to the next attempt. @default 120_000 */
  receiptTimeoutMs?: number
}

export interface ResumeOptions {
  /**
   * Longest wait for a root post's receipt, instead of the closer's `receiptTimeoutMs`: a
   * relay starting after a crash waits a little for the post it left pending, not minutes.
   */
  receiptTimeoutMs?: number
}

/** What `close()` did: a new epoch, or why there was none. */
export type CloseOutcome =
  | { closed: true; epoch: StoredEpoch }
  | {
      closed: false
      /** `no-earnings`: no wallet has earned anything; `no-change`: nothing new since the latest epoch. */
      reason: 'no-earnings' | 'no-change'
      latest: StoredEpoch | undefined
    }

/**
 * Closes settlement epochs: builds the tree of everyone's cumulative earnings and posts its
 * root in one transaction, crash-safe and at most once per epoch.
 *
 * Each step is stored before the next touches the chain: the epoch and its tree (state
 * `built`), then the signed transaction and its hash (`sent`), then `confirmed` once the
 * chain holds the root. A process killed anywhere finds the epoch on restart and finishes it
 * (`resume`): `built` signs and sends; `sent` asks the chain first and resends the same
 * signed bytes (re-signing only when the chain refuses them, e.g. their nonce was used). The
 * distributor accepts only `epoch + 1` from the poster, so a root can never land twice.
 *
 * One close (or resume, or claim batch run through `exclusive`) at a time, in this process.
 */
export interface EpochCloser {
  /** Resumes an unfinished epoch, then closes a new one if anything changed. */
  close(signal?: AbortSignal): Promise<CloseOutcome>
  /**
   * Finishes whatever is unfinished: an epoch built or sent before a crash, and (with
   * `repostMissing`) every stored root the chain lacks. Throws when the chain and the store
   * disagree in a way only an operator can fix, and when a post cannot land now (the
   * epoch is kept for the next close: `UNDERFUNDED`, `POST_REVERTED`, `EPOCH_PENDING`).
   */
  resume(signal?: AbortSignal, options?: ResumeOptions): Promise<void>
  /** Runs `fn` while no epoch is being closed: what reads the latest root and acts on it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>
  /** The tree of a stored epoch, loaded once and kept (the newest few). */
  tree(epoch: number): EpochTree | undefined
  /** The latest epoch whose root is on chain, with its tree. */
  latestConfirmed(): { epoch: StoredEpoch; tree: EpochTree } | undefined
}

/** Trees kept loaded: the latest few epochs are what wallets and auditors ask for. */
const TREES_KEPT = 8

export function createEpochCloser(options: EpochCloserOptions): EpochCloser {
  const { store, chain, log } = options
  const clock = options.clock ?? systemClock
  const callTimeoutMs = options.callTimeoutMs ?? 30_000
  const receiptTimeoutMs = options.receiptTimeoutMs ?? 120_000
  const trees = new Map<number, EpochTree>()
  let queue: Promise<unknown> = Promise.resolve()

  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn)
    queue = run.catch(() => undefined)
    return run
  }

  /** The caller's signal, bounded by the per-call timeout. */
  const bounded = (signal: AbortSignal | undefined, ms = callTimeoutMs) =>
    signal == null ? AbortSignal.timeout(ms) : AbortSignal.any([signal, AbortSignal.timeout(ms)])

  function tree(epoch: number): EpochTree | undefined {
    let loaded = trees.get(epoch)
    if (loaded == null) {
      const stored = store.getEpoch(epoch)
      if (stored == null) return undefined
      loaded = loadEpochTree(stored.tree)
    }
    // Most recently used last; the oldest goes first when the cache is full.
    trees.delete(epoch)
    trees.set(epoch, loaded)
    if (trees.size > TREES_KEPT) trees.delete(trees.keys().next().value as number)
    return loaded
  }

  /**
   * Whether the chain holds `epoch`'s root. The distributor only moves forward one epoch at
   * a time from the poster's key, so a later epoch on chain means this one landed; the same
   * epoch with another root means someone else posts to this distributor.
   */
  function onChain(state: DistributorState, epoch: StoredEpoch): boolean {
    if (state.epoch > epoch.epoch) return true
    if (state.epoch < epoch.epoch) return false
    if (state.merkleRoot.toLowerCase() === epoch.root.toLowerCase()) return true
    throw new SettlementError(
      'SETTLEMENT_UNAVAILABLE',
      `the distributor ${chain.distributor} holds another root (${state.merkleRoot}) for epoch ${epoch.epoch} than this relay built (${epoch.root}): ` +
        'another key posts to it, or the relay points at the wrong contract; check TABSWARM_DISTRIBUTOR_ADDRESS and the poster key',
    )
  }

  /** Why a root post reverted, from the distributor's state: the contract's own checks, in its order. */
  function revertReason(state: DistributorState, epoch: StoredEpoch): string {
    if (state.epoch + 1 !== epoch.epoch)
      return `WrongEpoch: the distributor expects epoch ${state.epoch + 1}, the post was ${epoch.epoch}`
    if (epoch.cumulativeTotal < state.cumulativeTotal)
      return `TotalDecreased: the distributor's total is ${state.cumulativeTotal}, the post's ${epoch.cumulativeTotal}`
    const available = state.balance + state.totalClaimed
    if (available < epoch.cumulativeTotal)
      return `Underfunded: the distributor can pay ${available}, the root needs ${epoch.cumulativeTotal}`
    return `NotRootPoster or paused: ${chain.poster} may not be the distributor's root poster`
  }

  function confirm(epoch: StoredEpoch): void {
    store.markEpochConfirmed(epoch.epoch, clock.now())
    store.flush()
    log.info('epoch confirmed', { epoch: epoch.epoch, root: epoch.root, txHash: epoch.txHash })
  }

  /** Funds the distributor and signs the post; stored (state `sent`) before anything is broadcast. */
  async function sign(epoch: StoredEpoch, signal: AbortSignal | undefined): Promise<StoredEpoch> {
    await chain.ensureFunded(epoch.cumulativeTotal, bounded(signal))
    const tx = await chain.signPostRoot(
      epoch.epoch,
      epoch.root,
      epoch.cumulativeTotal,
      bounded(signal),
    )
    store.markEpochSent(epoch.epoch, tx, clock.now())
    store.flush()
    return { ...epoch, state: 'sent', rawTx: tx.raw, txHash: tx.hash }
  }

  /** The stored signed transaction of an epoch in state `sent`. */
  const signed = (epoch: StoredEpoch): SignedTransaction | undefined =>
    epoch.state === 'sent' && epoch.rawTx != null && epoch.txHash != null
      ? { hash: epoch.txHash, raw: epoch.rawTx }
      : undefined

  /** Posts one stored epoch's root, from wherever it stands, until it is confirmed. */
  async function post(
    stored: StoredEpoch,
    signal: AbortSignal | undefined,
    waitMs = receiptTimeoutMs,
  ): Promise<void> {
    let epoch = stored
    let tx = signed(epoch)
    if (tx == null) {
      epoch = await sign(epoch, signal)
      tx = signed(epoch) as SignedTransaction
    }
    try {
      await chain.send(tx, bounded(signal))
    } catch (err) {
      // The stored transaction may have landed (then this was a resend), or its nonce went to
      // another transaction, or the chain dropped it for good: ask the chain, then re-sign.
      if (onChain(await chain.state(bounded(signal)), epoch)) return confirm(epoch)
      log.warn('the stored root post was refused; signing it again', {
        epoch: epoch.epoch,
        txHash: epoch.txHash,
        error: err,
      })
      epoch = await sign(epoch, signal)
      tx = signed(epoch) as SignedTransaction
      await chain.send(tx, bounded(signal))
    }
    const hash = tx.hash
    const outcome = await chain.outcome(hash, bounded(signal, waitMs + callTimeoutMs), waitMs)
    const state = await chain.state(bounded(signal))
    if (onChain(state, epoch)) return confirm(epoch)
    if (outcome === 'reverted') {
      // Its nonce is spent: the next attempt funds and signs afresh.
      store.markEpochBuilt(epoch.epoch)
      store.flush()
      throw new SettlementError(
        'POST_REVERTED',
        `posting epoch ${epoch.epoch}'s root reverted (tx ${hash}): ${revertReason(state, epoch)}; the epoch is kept and posted again on the next close`,
      )
    }
    throw new SettlementError(
      'EPOCH_PENDING',
      outcome === 'mined'
        ? `epoch ${epoch.epoch}'s root post ${hash} was mined but the distributor is at epoch ${state.epoch}; the next close checks again`
        : `epoch ${epoch.epoch}'s root post ${hash} was not mined within ${waitMs} ms; it is kept and resent on the next close or restart`,
    )
  }

  async function resumeUnlocked(
    signal: AbortSignal | undefined,
    waitMs = receiptTimeoutMs,
  ): Promise<void> {
    const latest = store.latestEpoch()
    if (latest == null) return
    const latestConfirmed = store.latestConfirmedEpoch()
    const state = await chain.state(bounded(signal))
    if (state.epoch > latest.epoch)
      throw new SettlementError(
        'SETTLEMENT_UNAVAILABLE',
        `the distributor ${chain.distributor} is at epoch ${state.epoch}, beyond this relay's latest (${latest.epoch}): ` +
          'another relay posts with the same key, or this data directory is not the one that posted; point the relay at its own distributor',
      )
    // Oldest first: the distributor takes epochs only in order.
    const first = Math.max(1, Math.min(state.epoch, latestConfirmed?.epoch ?? 0))
    for (let n = first; n <= latest.epoch; n++) {
      const epoch = store.getEpoch(n)
      if (epoch == null) continue
      if (onChain(state, epoch)) {
        if (epoch.state !== 'confirmed') confirm(epoch)
        continue
      }
      if (epoch.state === 'confirmed') {
        if (options.repostMissing !== true)
          throw new SettlementError(
            'SETTLEMENT_UNAVAILABLE',
            `the distributor ${chain.distributor} is at epoch ${state.epoch}, but this relay confirmed epoch ${n} there: ` +
              'it points at another contract or chain than before; check TABSWARM_CHAIN_RPC_URL and TABSWARM_DISTRIBUTOR_ADDRESS',
          )
        log.info('posting a stored root again on a new chain', { epoch: n, root: epoch.root })
        await post({ ...epoch, state: 'built', rawTx: null, txHash: null }, signal, waitMs)
        continue
      }
      log.info('resuming an unfinished epoch', { epoch: n, state: epoch.state })
      await post(epoch, signal, waitMs)
    }
  }

  return {
    exclusive,
    tree,

    resume: (signal, resumeOptions) =>
      exclusive(() => resumeUnlocked(signal, resumeOptions?.receiptTimeoutMs)),

    close: (signal) =>
      exclusive(async (): Promise<CloseOutcome> => {
        await resumeUnlocked(signal)
        const latest = store.latestEpoch()
        const previous = latest == null ? undefined : tree(latest.epoch)
        const next = buildEpochTree(options.earnedTotals(), options.unitsPerCredit, previous)
        if (next == null) return { closed: false, reason: 'no-earnings', latest }
        if (previous != null && next.root === previous.root)
          return { closed: false, reason: 'no-change', latest }
        const n = (latest?.epoch ?? 0) + 1
        store.insertEpoch({
          epoch: n,
          root: next.root,
          cumulativeTotal: next.cumulativeTotal,
          leaves: next.leaves,
          tree: next.dump(),
          closedAt: clock.now(),
        })
        store.flush()
        trees.set(n, next)
        log.info('epoch built', {
          epoch: n,
          root: next.root,
          cumulativeTotal: next.cumulativeTotal.toString(),
          leaves: next.leaves,
        })
        await post(store.getEpoch(n) as StoredEpoch, signal)
        return { closed: true, epoch: store.getEpoch(n) as StoredEpoch }
      }),

    latestConfirmed() {
      const epoch = store.latestConfirmedEpoch()
      if (epoch == null) return undefined
      const loaded = tree(epoch.epoch)
      return loaded == null ? undefined : { epoch, tree: loaded }
    },
  }
}

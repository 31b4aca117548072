import {
  API_ERROR_STATUS,
  type ClaimProof,
  type EpochSummary,
  type EpochView,
  type SettlementInfo,
  type WalletCredits,
} from '@tabswarm/protocol'
import { getAddress } from 'viem'
import type { Logger } from '../log.ts'
import type { Address, Hex, SettlementChain } from './chain/settlement-chain.ts'
import type { CloseOutcome, EpochCloser } from './epoch-closer.ts'
import type { EpochStore, StoredEpoch } from './epoch-store.ts'
import { SettlementError } from './settlement-error.ts'

/** Accounts one `POST /v1/settlement/claims` may name: one `claimMany` of 32 stays under a block's gas. */
export const MAX_CLAIMS_PER_BATCH = 32

/** Epochs one `GET /v1/settlement/epochs` page holds at most. */
export const MAX_EPOCHS_PER_PAGE = 100

export interface SettlementServiceOptions {
  chain: SettlementChain
  closer: EpochCloser
  store: EpochStore
  /** Cumulative verified earnings per payee in ledger credits (the ledger's `earnedTotals`). */
  earnedTotals: () => Iterable<{ account: string; total: bigint }>
  unitsPerCredit: bigint
  /** A JSON-RPC URL browsers can use, or null. */
  publicRpcUrl: string | null
  /** Share of a widget contributor's earnings paid to its site, in basis points. @default 0 */
  siteShareBps?: number
  /** How often epochs close on their own; null: only on demand. */
  epochIntervalMs: number | null
  log: Logger
  /** Longest wait for one chain read. @default 15_000 */
  callTimeoutMs?: number
  /** Longest wait for a claim transaction to be sent. @default 120_000 */
  claimTimeoutMs?: number
}

/**
 * What `closeEpoch` answers: the epoch just closed (`closed: true`) or, when nothing changed
 * since, the latest one (`closed: false`), with what happened in words.
 */
export interface CloseEpochResult extends EpochSummary {
  closed: boolean
  message: string
}

/** What `submitClaims` did: one transaction, the claims it carries, the accounts left out and why. */
export interface SubmittedClaims {
  txHash: Hex
  claims: ClaimProof[]
  skipped: Array<{ account: Address; reason: string }>
}

/**
 * The settlement facts the HTTP API serves: where credits settle, a wallet's three figures
 * (pending, claimable, claimed) and its proof, the published epochs, and the two actions
 * (close an epoch now, submit claims for accounts). Money is bigint inside and decimal text
 * in the views.
 */
export interface SettlementService {
  info(signal?: AbortSignal): Promise<SettlementInfo>
  account(address: string, signal?: AbortSignal): Promise<WalletCredits>
  /** Newest first; `before` is the number of the last epoch of the previous page. */
  epochs(query: { limit: number; before?: number }): { epochs: EpochSummary[]; next: number | null }
  epoch(n: number): EpochView
  closeEpoch(signal?: AbortSignal): Promise<CloseEpochResult>
  submitClaims(accounts: string[], signal?: AbortSignal): Promise<SubmittedClaims>
  /**
   * Credits put in posted roots: the latest confirmed epoch's cumulative total, in ledger
   * credits (base units over `unitsPerCredit`, floored). Read from the store, without trees.
   */
  settledCredits(): bigint
}

/** An epoch as the API shows it, without its tree. */
export function epochSummary(epoch: Omit<StoredEpoch, 'tree'>): EpochSummary {
  return {
    epoch: epoch.epoch,
    root: epoch.root,
    cumulativeTotal: epoch.cumulativeTotal.toString(),
    leaves: epoch.leaves,
    state: epoch.state,
    txHash: epoch.txHash,
    closedAt: epoch.closedAt,
  }
}

export function createSettlementService(options: SettlementServiceOptions): SettlementService {
  const { chain, closer, store, log } = options
  const callTimeoutMs = options.callTimeoutMs ?? 15_000
  const bounded = (signal: AbortSignal | undefined) =>
    signal == null
      ? AbortSignal.timeout(callTimeoutMs)
      : AbortSignal.any([signal, AbortSignal.timeout(callTimeoutMs)])
  let tokenInfo: Promise<{ symbol: string; decimals: number }> | undefined

  /**
   * A chain call that failed becomes a 503 that says which chain did not answer; settlement
   * errors the API has a status for (e.g. `POST_REVERTED`, `EPOCH_PENDING`) pass as they are.
   */
  async function fromChain<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (err) {
      if (err instanceof SettlementError && Object.hasOwn(API_ERROR_STATUS, err.code)) throw err
      throw new SettlementError(
        'SETTLEMENT_UNAVAILABLE',
        `the chain (id ${chain.chainId}) did not answer ${what}: ${(err as Error).message}; try again later`,
        { cause: err },
      )
    }
  }

  /** What `account` has earned, in base units. */
  function earned(account: Address): bigint {
    const wanted = account.toLowerCase()
    let total = 0n
    for (const entry of options.earnedTotals())
      if (entry.account.toLowerCase() === wanted) total += entry.total
    return total * options.unitsPerCredit
  }

  return {
    async info(signal) {
      tokenInfo ??= fromChain('the token’s symbol and decimals', () =>
        chain.tokenInfo(bounded(signal)),
      ).catch((err) => {
        tokenInfo = undefined
        throw err
      })
      const token = await tokenInfo
      return {
        chainId: chain.chainId,
        rpcUrl: options.publicRpcUrl,
        distributor: chain.distributor,
        token: { address: chain.token, ...token },
        unitsPerCredit: options.unitsPerCredit.toString(),
        siteShareBps: options.siteShareBps ?? 0,
        epochIntervalMs: options.epochIntervalMs,
        latestEpoch: store.latestConfirmedEpoch()?.epoch ?? 0,
      }
    },

    async account(address, signal) {
      const account = getAddress(address)
      const latest = closer.latestConfirmed()
      const leaf = latest?.tree.proofOf(account)
      const inRoot = leaf?.cumulativeAmount ?? 0n
      const claimed = await fromChain(`claimed(${account})`, () =>
        chain.claimed(account, bounded(signal)),
      )
      const pending = earned(account) - inRoot
      const claimable = inRoot - claimed
      return {
        address: account,
        pending: (pending > 0n ? pending : 0n).toString(),
        // Below zero only on a chain that paid more than this root holds (another relay's
        // roots): nothing is claimable then.
        claimable: (claimable > 0n ? claimable : 0n).toString(),
        claimed: claimed.toString(),
        claim:
          latest == null || leaf == null
            ? null
            : {
                epoch: latest.epoch.epoch,
                root: latest.epoch.root,
                account,
                cumulativeAmount: leaf.cumulativeAmount.toString(),
                proof: leaf.proof,
              },
      }
    },

    epochs({ limit, before }) {
      const page = store.listEpochs({
        limit: Math.min(limit, MAX_EPOCHS_PER_PAGE),
        ...(before !== undefined ? { before } : {}),
      })
      const last = page.at(-1)
      return {
        epochs: page.map(epochSummary),
        next: page.length === limit && last != null && last.epoch > 1 ? last.epoch : null,
      }
    },

    epoch(n) {
      const stored = store.getEpoch(n)
      if (stored == null)
        throw new SettlementError(
          'EPOCH_NOT_FOUND',
          `no epoch ${n}: the latest is ${store.latestEpoch()?.epoch ?? 'none yet'}`,
        )
      return { ...epochSummary(stored), tree: JSON.parse(stored.tree) }
    },

    async closeEpoch(signal) {
      const outcome: CloseOutcome = await fromChain(
        'while closing an epoch (whatever was stored is resumed on the next close)',
        () => closer.close(signal),
      )
      if (outcome.closed) {
        const { epoch } = outcome
        return {
          ...epochSummary(epoch),
          closed: true,
          message: `epoch ${epoch.epoch} posted: ${epoch.leaves} accounts, ${epoch.cumulativeTotal} base units in all (tx ${epoch.txHash})`,
        }
      }
      if (outcome.latest == null)
        throw new SettlementError(
          'NOTHING_TO_SETTLE',
          'no epoch closed: no wallet has earned anything yet; epochs start once verified work pays a wallet',
        )
      return {
        ...epochSummary(outcome.latest),
        closed: false,
        message: `no epoch closed: nothing new since epoch ${outcome.latest.epoch}`,
      }
    },

    settledCredits() {
      // At most the newest epoch waits for its post (EPOCH_PENDING refuses a second), so the
      // latest confirmed one is among the newest two: read without their trees.
      const newest = store.listEpochs({ limit: 2 })
      const confirmed =
        newest.find((epoch) => epoch.state === 'confirmed') ??
        (newest.length === 2 ? store.latestConfirmedEpoch() : undefined)
      return confirmed == null ? 0n : confirmed.cumulativeTotal / options.unitsPerCredit
    },

    async submitClaims(accounts, signal) {
      if (accounts.length === 0 || accounts.length > MAX_CLAIMS_PER_BATCH)
        throw new RangeError(
          `claims name 1 to ${MAX_CLAIMS_PER_BATCH} accounts, got ${accounts.length}`,
        )
      // Under the closer's lock: no root is posted between reading the proofs and the claim
      // landing, so the batch never reverts on a stale root.
      return closer.exclusive(async () => {
        const latest = closer.latestConfirmed()
        if (latest == null)
          throw new SettlementError(
            'NOTHING_TO_CLAIM',
            'no epoch has been posted yet: nothing is claimable until the first one closes',
          )
        const claims: ClaimProof[] = []
        const skipped: SubmittedClaims['skipped'] = []
        for (const account of new Set(accounts.map((a) => getAddress(a)))) {
          const leaf = latest.tree.proofOf(account)
          if (leaf == null) {
            skipped.push({ account, reason: `not in epoch ${latest.epoch.epoch}'s root` })
            continue
          }
          const claimed = await fromChain(`claimed(${account})`, () =>
            chain.claimed(account, bounded(signal)),
          )
          if (leaf.cumulativeAmount <= claimed) {
            skipped.push({ account, reason: 'everything in the latest root is claimed already' })
            continue
          }
          claims.push({
            epoch: latest.epoch.epoch,
            root: latest.epoch.root,
            account,
            cumulativeAmount: leaf.cumulativeAmount.toString(),
            proof: leaf.proof,
          })
        }
        if (claims.length === 0)
          throw new SettlementError(
            'NOTHING_TO_CLAIM',
            `nothing to claim for ${skipped.map((s) => `${s.account} (${s.reason})`).join(', ')}; earnings become claimable once an epoch that holds them is posted`,
          )
        const claimTimeout = AbortSignal.timeout(options.claimTimeoutMs ?? 120_000)
        const txHash = await fromChain('the claim transaction', () =>
          chain.submitClaims(
            claims,
            signal == null ? claimTimeout : AbortSignal.any([signal, claimTimeout]),
          ),
        )
        log.info('claims submitted', { txHash, accounts: claims.length, epoch: latest.epoch.epoch })
        return { txHash, claims, skipped }
      })
    },
  }
}

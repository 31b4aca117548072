import type { CoordinatorStore, LedgerKind } from '../store/coordinator-store.ts'
import { BPS, siteShareOf } from './site-share.ts'

/** The operator's account: grants come out of it, so it runs negative by what was granted. */
export const TREASURY = 'treasury'

/** The account holding a job's escrow. */
export const escrowAccount = (jobId: string) => `escrow:${jobId}`

/**
 * Credit a contributor earned on a job still running: released when it ends, forfeited on a
 * fault. Earned through a site's widget (`site`, a checksummed address), it is kept apart as
 * `pending:<payee>:<job id>@<site>`, so the site's share is taken from what was earned
 * through it alone (a wallet may contribute through two sites at once, from two tabs).
 */
export const pendingAccount = (payee: string, jobId: string, site?: string) =>
  site == null ? `pending:${payee}:${jobId}` : `pending:${payee}:${jobId}@${site}`
const pendingPrefix = (payee: string) => `pending:${payee}:`

/**
 * The parts of a pending account's name. A payee (a wallet or `peer:<id>`) may hold colons;
 * a job id holds neither a colon nor an `@`.
 */
export function parsePendingAccount(
  account: string,
): { payee: string; jobId: string; site?: string } | undefined {
  if (!account.startsWith('pending:')) return undefined
  const rest = account.slice('pending:'.length)
  const cut = rest.lastIndexOf(':')
  if (cut < 0) return undefined
  const tail = rest.slice(cut + 1)
  const at = tail.indexOf('@')
  const payee = rest.slice(0, cut)
  return at < 0
    ? { payee, jobId: tail }
    : { payee, jobId: tail.slice(0, at), site: tail.slice(at + 1) }
}

/** Transfer kinds that are earnings: a contributor's payouts and a site's shares. */
export const EARNING_KINDS: readonly LedgerKind[] = ['payout', 'site-share']

export interface LedgerOptions {
  /**
   * Share of a contributor's verified earnings that goes to the site it contributed through,
   * in basis points (0..10000). @default 0
   */
  siteShareBps?: number
}

/**
 * Credits as double-entry moves between accounts in the coordinator's store, in exact
 * integers (`bigint`). Every method runs inside the caller's transaction (or its own), so a
 * crash never leaves half a move, and moves keyed by `ref` happen at most once.
 */
export interface Ledger {
  grant(account: string, credits: bigint, at: number): void
  /** Moves the budget from the owner to the job's escrow. Returns false when the balance is short. */
  escrow(owner: string, jobId: string, credits: bigint, at: number): boolean
  /**
   * Pays one accepted result into the contributor's pending credit for the job (at most
   * what escrow holds), kept apart per `site` it was earned through. Returns the amount.
   */
  pay(jobId: string, payee: string, credits: bigint, at: number, ref: string, site?: string): bigint
  /**
   * Takes back what the payment keyed `payRef` put into pending credit (at most what is still
   * pending there): its acceptance was undone. Keyed by `ref`, so it happens at most once.
   * Returns the amount.
   */
  unpay(jobId: string, payRef: string, at: number, ref: string): bigint
  /**
   * The job is over: pending credit goes to its contributors, less each site's share of what
   * was earned through it (floored; the remainder stays with the contributor), and the rest
   * of escrow back to the owner. Returns what was refunded.
   */
  settle(jobId: string, owner: string, payees: Iterable<string>, at: number): bigint
  /**
   * A fault: every pending credit of this contributor, through any site, goes back to its
   * job's escrow (a site's share is taken only at payout, so none of it reached a site).
   * Returns what went back, per job, so the jobs' `spent` can be lowered by as much.
   */
  forfeit(payee: string, at: number): Array<{ jobId: string; credits: bigint }>
  balance(account: string): bigint
  escrowed(jobId: string): bigint
  /** Pending credit of a contributor on running jobs, through any site, before site shares. */
  pending(payee: string): bigint
  /** Everything `account` earned, ever: payouts for its work and shares as a site. */
  earned(account: string): bigint
  /**
   * Every wallet's cumulative earnings (payouts and site shares) in one pass, by account
   * (`0x…` addresses only, in account order): what an epoch of settlement distributes.
   */
  earnedTotals(): Array<{ account: string; total: bigint }>
}

export function createLedger(store: CoordinatorStore, options: LedgerOptions = {}): Ledger {
  const siteShareBps = options.siteShareBps ?? 0
  if (!Number.isInteger(siteShareBps) || siteShareBps < 0 || siteShareBps > BPS)
    throw new RangeError(
      `siteShareBps is a share in basis points, an integer from 0 to ${BPS}, got ${siteShareBps}`,
    )

  return {
    grant(account, credits, at) {
      store.transfer({ from: TREASURY, to: account, amount: credits, kind: 'grant', at })
    },

    escrow(owner, jobId, credits, at) {
      return store.transaction(() => {
        if (store.balance(owner) < credits) return false
        store.transfer({
          from: owner,
          to: escrowAccount(jobId),
          amount: credits,
          kind: 'escrow',
          jobId,
          at,
        })
        return true
      })
    },

    pay(jobId, payee, credits, at, ref, site) {
      const escrowed = store.balance(escrowAccount(jobId))
      const amount = credits < escrowed ? credits : escrowed > 0n ? escrowed : 0n
      store.transfer({
        from: escrowAccount(jobId),
        to: pendingAccount(payee, jobId, site),
        amount,
        kind: 'pay',
        jobId,
        at,
        ref,
      })
      return amount
    },

    unpay(jobId, payRef, at, ref) {
      const paid = store.transferByRef(payRef)
      if (paid == null || paid.kind !== 'pay' || paid.jobId !== jobId) return 0n
      const pending = store.balance(paid.to)
      const amount = paid.amount < pending ? paid.amount : pending > 0n ? pending : 0n
      store.transfer({
        from: paid.to,
        to: escrowAccount(jobId),
        amount,
        kind: 'forfeit',
        jobId,
        at,
        ref,
      })
      return amount
    },

    settle(jobId, owner, payees, at) {
      return store.transaction(() => {
        for (const payee of new Set(payees)) {
          // The job's pending accounts of this payee: without a site, and one per site.
          for (const { account, balance } of store.balancesWithPrefix(
            pendingAccount(payee, jobId),
          )) {
            const parts = parsePendingAccount(account)
            if (parts?.jobId !== jobId || parts.payee !== payee || balance <= 0n) continue
            const { site, contributor } = siteShareOf(balance, siteShareBps, parts.site)
            if (site > 0n)
              store.transfer({
                from: account,
                to: parts.site!,
                amount: site,
                kind: 'site-share',
                jobId,
                at,
              })
            store.transfer({
              from: account,
              to: payee,
              amount: contributor,
              kind: 'payout',
              jobId,
              at,
            })
          }
        }
        const rest = store.balance(escrowAccount(jobId))
        if (rest > 0n)
          store.transfer({
            from: escrowAccount(jobId),
            to: owner,
            amount: rest,
            kind: 'refund',
            jobId,
            at,
          })
        return rest > 0n ? rest : 0n
      })
    },

    forfeit(payee, at) {
      return store.transaction(() => {
        const returned: Array<{ jobId: string; credits: bigint }> = []
        for (const { account, balance } of store.balancesWithPrefix(pendingPrefix(payee))) {
          const parts = parsePendingAccount(account)
          if (balance <= 0n || parts?.payee !== payee) continue
          store.transfer({
            from: account,
            to: escrowAccount(parts.jobId),
            amount: balance,
            kind: 'forfeit',
            jobId: parts.jobId,
            at,
          })
          returned.push({ jobId: parts.jobId, credits: balance })
        }
        return returned
      })
    },

    balance: (account) => store.balance(account),
    escrowed: (jobId) => store.balance(escrowAccount(jobId)),
    pending(payee) {
      let sum = 0n
      for (const { account, balance } of store.balancesWithPrefix(pendingPrefix(payee)))
        if (parsePendingAccount(account)?.payee === payee) sum += balance
      return sum
    },
    earned: (account) => store.creditedTotal(account, EARNING_KINDS),
    earnedTotals: () => store.creditedTotals(EARNING_KINDS, '0x'),
  }
}

import type { CoordinatorStore } from '../store/coordinator-store.ts'

/** The operator's account: grants come out of it, so it runs negative by what was granted. */
export const TREASURY = 'treasury'

/** The account holding a job's escrow. */
export const escrowAccount = (jobId: string) => `escrow:${jobId}`

/** Credit a contributor earned on a job still running: released when it ends, forfeited on a fault. */
export const pendingAccount = (payee: string, jobId: string) => `pending:${payee}:${jobId}`
const pendingPrefix = (payee: string) => `pending:${payee}:`

/**
 * Credits as double-entry moves between accounts in the coordinator's store. Every method
 * runs inside the caller's transaction (or its own), so a crash never leaves half a move,
 * and moves keyed by `ref` happen at most once.
 */
export interface Ledger {
  grant(account: string, credits: number, at: number): void
  /** Moves the budget from the owner to the job's escrow. Returns false when the balance is short. */
  escrow(owner: string, jobId: string, credits: number, at: number): boolean
  /** Pays one accepted result into the contributor's pending credit for the job. */
  pay(jobId: string, payee: string, credits: number, at: number, ref: string): number
  /**
   * Takes back what one result was paid (at most `credits`, at most what is still pending):
   * its acceptance was undone. Keyed by `ref`, so it happens at most once. Returns the amount.
   */
  unpay(jobId: string, payee: string, credits: number, at: number, ref: string): number
  /** The job is over: pending credit goes to its contributors, the rest of escrow back to the owner. */
  settle(jobId: string, owner: string, payees: Iterable<string>, at: number): number
  /**
   * A fault: every pending credit of this contributor goes back to its job's escrow. Returns
   * what went back, per job, so the jobs' `spent` can be lowered by as much.
   */
  forfeit(payee: string, at: number): Array<{ jobId: string; credits: number }>
  balance(account: string): number
  escrowed(jobId: string): number
  pending(payee: string): number
  earned(account: string): number
}

export function createLedger(store: CoordinatorStore): Ledger {
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

    pay(jobId, payee, credits, at, ref) {
      const amount = Math.min(credits, store.balance(escrowAccount(jobId)))
      store.transfer({
        from: escrowAccount(jobId),
        to: pendingAccount(payee, jobId),
        amount,
        kind: 'pay',
        jobId,
        at,
        ref,
      })
      return amount
    },

    unpay(jobId, payee, credits, at, ref) {
      const amount = Math.min(credits, Math.max(0, store.balance(pendingAccount(payee, jobId))))
      store.transfer({
        from: pendingAccount(payee, jobId),
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
          const account = pendingAccount(payee, jobId)
          const amount = store.balance(account)
          if (amount > 0)
            store.transfer({ from: account, to: payee, amount, kind: 'payout', jobId, at })
        }
        const rest = store.balance(escrowAccount(jobId))
        if (rest > 0)
          store.transfer({
            from: escrowAccount(jobId),
            to: owner,
            amount: rest,
            kind: 'refund',
            jobId,
            at,
          })
        return Math.max(rest, 0)
      })
    },

    forfeit(payee, at) {
      return store.transaction(() => {
        const returned: Array<{ jobId: string; credits: number }> = []
        for (const { account, balance } of store.balancesWithPrefix(pendingPrefix(payee))) {
          if (balance <= 0) continue
          const jobId = account.slice(pendingPrefix(payee).length)
          store.transfer({
            from: account,
            to: escrowAccount(jobId),
            amount: balance,
            kind: 'forfeit',
            jobId,
            at,
          })
          returned.push({ jobId, credits: balance })
        }
        return returned
      })
    },

    balance: (account) => store.balance(account),
    escrowed: (jobId) => store.balance(escrowAccount(jobId)),
    pending: (payee) =>
      store.balancesWithPrefix(pendingPrefix(payee)).reduce((sum, { balance }) => sum + balance, 0),
    earned: (account) => store.creditedTotal(account, 'payout'),
  }
}

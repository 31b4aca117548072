import type { Clock } from '../clock.ts'

/** A task held by one contributor until `expiresAt`. */
export interface Lease {
  id: string
  jobId: string
  taskIndex: number
  peerId: string
  /** The id the contributor was told: the task's own, or a fresh one for a canary. */
  taskId: string
  /** A re-issue of an accepted task, to test the contributor against a known answer. */
  canary: boolean
  grantedAt: number
  expiresAt: number
}

export interface LeaseTable {
  readonly size: number
  /** How long a lease runs, and how much a renewal adds. */
  readonly leaseMs: number
  /** A new lease from now, under a fresh id. */
  issue(fields: Omit<Lease, 'id' | 'grantedAt' | 'expiresAt'>): Lease
  get(id: string): Lease | undefined
  /** Removes a lease and returns it; undefined when there is none. */
  remove(id: string): Lease | undefined
  /** The lease `id`, if it is live and `peerId` holds it. */
  held(peerId: string, id: string): Lease | undefined
  /** Extends a live lease that `peerId` holds; undefined when it holds none such. */
  renew(peerId: string, id: string): Lease | undefined
  /**
   * Hands a live lease `from` holds to `to`, same id and terms (a task offered to the
   * cluster's other relays, run there by one of their contributors); undefined when `from`
   * holds no live lease `id`.
   */
  transfer(id: string, from: string, to: string): Lease | undefined
  /** Ids of the leases `peerId` holds. */
  heldBy(peerId: string): string[]
  /** How many leases `peerId` holds. */
  countHeldBy(peerId: string): number
  /** Leases whose time is up at `now`. */
  expired(now: number): Lease[]
  ids(): string[]
}

/**
 * Who holds which task until when, in memory: a lease is a promise to wait, not state worth
 * a write; after a restart every task it covered is simply queued again. Ids carry a
 * random per-process prefix, so a lease from before a restart is never mistaken for a new one.
 */
export function createLeaseTable(options: { clock: Clock; leaseMs: number }): LeaseTable {
  const { clock, leaseMs } = options
  const leases = new Map<string, Lease>()
  const byPeer = new Map<string, Set<string>>()
  const prefix = crypto.randomUUID().slice(0, 8)
  let seq = 0

  function held(peerId: string, id: string): Lease | undefined {
    const lease = leases.get(id)
    return lease != null && lease.peerId === peerId && lease.expiresAt > clock.now()
      ? lease
      : undefined
  }

  return {
    get size() {
      return leases.size
    },
    leaseMs,

    issue(fields) {
      const now = clock.now()
      const lease: Lease = {
        ...fields,
        id: `${prefix}-${(seq++).toString(36)}`,
        grantedAt: now,
        expiresAt: now + leaseMs,
      }
      leases.set(lease.id, lease)
      const held = byPeer.get(lease.peerId) ?? new Set<string>()
      held.add(lease.id)
      byPeer.set(lease.peerId, held)
      return lease
    },

    get: (id) => leases.get(id),

    remove(id) {
      const lease = leases.get(id)
      if (lease == null) return undefined
      leases.delete(id)
      const held = byPeer.get(lease.peerId)
      held?.delete(id)
      if (held?.size === 0) byPeer.delete(lease.peerId)
      return lease
    },

    held,

    renew(peerId, id) {
      const lease = held(peerId, id)
      if (lease != null) lease.expiresAt = clock.now() + leaseMs
      return lease
    },

    transfer(id, from, to) {
      const lease = held(from, id)
      if (lease == null) return undefined
      const before = byPeer.get(from)
      before?.delete(id)
      if (before?.size === 0) byPeer.delete(from)
      lease.peerId = to
      const after = byPeer.get(to) ?? new Set<string>()
      after.add(id)
      byPeer.set(to, after)
      return lease
    },

    heldBy: (peerId) => [...(byPeer.get(peerId) ?? [])],
    countHeldBy: (peerId) => byPeer.get(peerId)?.size ?? 0,

    expired(now) {
      const out: Lease[] = []
      for (const lease of leases.values()) if (lease.expiresAt <= now) out.push(lease)
      return out
    },

    ids: () => [...leases.keys()],
  }
}

import type { Capabilities } from '@tabswarm/protocol'
import type { Logger } from '../../log.ts'
import type { CoordinatorStore, StoredContributor } from '../../store/coordinator-store.ts'
import type { Clock } from '../clock.ts'
import type { ContributorHello } from '../coordinator-api.ts'
import { CoordinatorError } from '../coordinator-error.ts'
import { accountKey } from './account-key.ts'
import { banKeys } from './ban-keys.ts'
import { networkKey } from './network-address.ts'

/** Who a result comes from, as far as distinctness goes. */
export interface ContributorIdentity {
  peerId: string
  /** A wallet address (EIP-55), or `peer:<id>` for a contributor without one. */
  payee: string
  /** Its network key (`networkKey`), when it connects from a routable address. */
  address?: string
  /**
   * The site (checksummed address) its wallet binding names, paid a share of what it earns
   * here. Not part of distinctness: a wallet through two sites is still one wallet.
   */
  site?: string
}

/** A connected contributor. */
export interface Contributor extends ContributorIdentity {
  /** Its measured speed, or the assumed default when it reported none. */
  gflops: number
  /** The speed it measured and reported in its hello; absent when it reported none. */
  measuredGflops?: number
  capabilities?: Capabilities
  /** Credibility evidence, faults and ban, as stored (written in batches, see `credit`). */
  record: StoredContributor
}

/**
 * Whether two contributors are one as far as replicas go: the same peer id, the same
 * wallet or the same network address. A Sybil with many peer ids is still one wallet or
 * one address.
 */
export function sameContributor(a: ContributorIdentity, b: ContributorIdentity): boolean {
  return (
    a.peerId === b.peerId || a.payee === b.payee || (a.address != null && a.address === b.address)
  )
}

/** Just the identity of `c` (what `sameContributor` compares), to keep beside a result. */
export function identityOf(c: ContributorIdentity): ContributorIdentity {
  return {
    peerId: c.peerId,
    payee: c.payee,
    ...(c.address != null ? { address: c.address } : {}),
    ...(c.site != null ? { site: c.site } : {}),
  }
}

export interface ContributorRegistryOptions {
  store: CoordinatorStore
  clock: Clock
  log: Logger
  /** Speed assumed for a contributor that reports none, GFLOP/s. */
  defaultGflops: number
  /** Faults of one peer id, or of one wallet over any peer ids, that ban both. */
  banAfterFaults: number
  /** Faults from one network address, over any peer ids and wallets, that ban it. */
  banAddressAfterFaults: number
  /** Returns a faulted contributor's pending credit to the jobs' escrow (the ledger's part). */
  forfeit(payee: string, at: number): void
}

export interface ContributorRegistry {
  readonly size: number
  /** Bans written since start (peer ids, wallets and addresses). */
  readonly bans: number
  /**
   * Registers (or refreshes) a contributor. Throws `CoordinatorError('CONTRIBUTOR_BANNED')`
   * for a banned peer id, wallet or address.
   */
  register(peerId: string, hello: ContributorHello): Contributor
  get(peerId: string): Contributor | undefined
  remove(peerId: string): void
  values(): IterableIterator<Contributor>
  /** Median measured speed of those online, or `defaultGflops` when nobody is. */
  medianGflops(): number
  fastestGflops(): number
  /** One more result checked independently and found right. */
  credit(c: Contributor): void
  /** Halves the evidence (a task error: not a fault, not free either). */
  discredit(c: Contributor): void
  /**
   * A wrong result: the evidence resets, pending credit is forfeited, and the fault counts
   * against the peer id, the wallet and the address. Returns the contributors this bans
   * (every connected one under a banned wallet or address), whose leases and replicas the
   * caller takes away. Runs inside the caller's transaction when there is one.
   */
  fault(c: Contributor, reason: string, where?: { job: string; task: number }): Contributor[]
  /**
   * Marks connected contributors that a ban in the store names, and not yet marked, as
   * banned (a ban another relay of a cluster made, copied into the store since they
   * registered), and returns them, whose leases and replicas the caller takes away.
   */
  applyStoredBans(): Contributor[]
  /** Writes the batched credibility evidence now (shutdown). */
  flush(): void
}

/**
 * Contributors, their credibility evidence, faults and bans. Evidence (`verified`) is
 * written once per event-loop turn, not per result: losing the last increments to a crash
 * only makes a contributor look newer, the safe side. Faults and bans are written at once.
 */
export function createContributorRegistry(
  options: ContributorRegistryOptions,
): ContributorRegistry {
  const { store, clock, log } = options
  const online = new Map<string, Contributor>()
  const dirty = new Map<string, StoredContributor>()
  let dirtyTimer: ReturnType<typeof setImmediate> | undefined
  let bans = 0

  function persist(): void {
    if (dirtyTimer != null) clearImmediate(dirtyTimer)
    dirtyTimer = undefined
    if (dirty.size === 0) return
    store.transaction(() => {
      for (const record of dirty.values()) store.putContributor(record)
    })
    dirty.clear()
  }

  function touch(c: Contributor): void {
    dirty.set(c.peerId, c.record)
    dirtyTimer ??= setImmediate(persist)
  }

  function ban(key: string, reason: string, at: number, peer: string): void {
    if (store.isBanned(key)) return
    store.addBan(key, reason, at)
    bans++
    log.warn('banned', { ban: key, reason, peer })
  }

  return {
    get size() {
      return online.size
    },
    get bans() {
      return bans
    },

    register(peerId, hello) {
      // Checksummed (EIP-55), as the HTTP API names wallets: one ledger key per wallet.
      const payee = hello.wallet ? accountKey(hello.wallet.address) : `peer:${peerId}`
      // Its own ledger account, checksummed like every wallet (it becomes its own leaf).
      const site = hello.wallet?.site != null ? accountKey(hello.wallet.site) : undefined
      const address = hello.address != null ? networkKey(hello.address) : undefined
      const banned = banKeys({ peerId, payee, ...(address != null ? { address } : {}) }).find(
        (key) => store.isBanned(key),
      )
      if (banned != null)
        throw new CoordinatorError(
          'CONTRIBUTOR_BANNED',
          `contributor ${peerId} is banned for faulty results (${banned.slice(0, banned.indexOf(':'))})`,
        )
      // The record in memory, if any, is newer than the stored one (evidence is written in
      // batches): reloading it would let a stale write undo a fault.
      const record = online.get(peerId)?.record ??
        dirty.get(peerId) ??
        store.getContributor(peerId) ?? {
          id: peerId,
          payee,
          verified: 0,
          faults: 0,
          banned: false,
          lastSeen: clock.now(),
        }
      record.payee = payee
      record.lastSeen = clock.now()
      const c: Contributor = {
        peerId,
        payee,
        ...(address != null ? { address } : {}),
        ...(site != null ? { site } : {}),
        gflops: hello.gflops ?? options.defaultGflops,
        ...(hello.gflops != null ? { measuredGflops: hello.gflops } : {}),
        capabilities: hello.capabilities,
        record,
      }
      online.set(peerId, c)
      return c
    },

    get: (peerId) => online.get(peerId),
    remove: (peerId) => void online.delete(peerId),
    values: () => online.values(),

    medianGflops() {
      const speeds = [...online.values()].map((c) => c.gflops).sort((x, y) => x - y)
      return speeds.length === 0 ? options.defaultGflops : speeds[speeds.length >> 1]!
    },

    fastestGflops() {
      let fastest = 0
      for (const c of online.values()) fastest = Math.max(fastest, c.gflops)
      return fastest
    },

    credit(c) {
      c.record.verified++
      c.record.lastSeen = clock.now()
      touch(c)
    },

    discredit(c) {
      c.record.verified = Math.floor(c.record.verified / 2)
      touch(c)
    },

    fault(c, reason, where) {
      const at = clock.now()
      const outcast: Contributor[] = []
      log.warn('fault', {
        peer: c.peerId,
        payee: c.payee,
        ...(c.address != null ? { address: c.address } : {}),
        faults: c.record.faults + 1,
        reason,
        ...where,
      })
      store.transaction(() => {
        c.record.verified = 0
        c.record.faults++
        options.forfeit(c.payee, at)
        // Wallet and address keys banned by this fault; peer ids are banned below.
        const keys: string[] = []
        const wallet = c.payee.startsWith('0x') ? `wallet:${c.payee}` : undefined
        const address = c.address != null ? `address:${c.address}` : undefined
        const walletFaults = wallet != null ? store.addFault(wallet) : 0
        const addressFaults = address != null ? store.addFault(address) : 0
        const peerBanned =
          c.record.faults >= options.banAfterFaults || walletFaults >= options.banAfterFaults
        if (peerBanned && wallet != null) keys.push(wallet)
        if (address != null && addressFaults >= options.banAddressAfterFaults) keys.push(address)
        for (const key of keys) ban(key, reason, at, c.peerId)
        if (peerBanned || keys.length > 0) {
          // The faulting contributor first (it may be gone from `online` already), then every
          // peer connected under a banned wallet or address. Each peer id is banned too, and
          // counted and logged like any ban: a record marked banned with no `peer:` ban would
          // let that peer register again from elsewhere and get no work, silently, for ever.
          const under = (other: Contributor) =>
            keys.includes(`wallet:${other.payee}`) ||
            (other.address != null && keys.includes(`address:${other.address}`))
          for (const other of new Set([c, ...[...online.values()].filter(under)])) {
            if (other.record.banned) continue
            ban(`peer:${other.peerId}`, reason, at, other.peerId)
            other.record.banned = true
            store.putContributor(other.record)
            outcast.push(other)
          }
        }
        store.putContributor(c.record)
      })
      return outcast
    },

    applyStoredBans() {
      const outcast: Contributor[] = []
      for (const c of online.values())
        if (!c.record.banned && banKeys(c).some((key) => store.isBanned(key))) outcast.push(c)
      if (outcast.length === 0) return outcast
      store.transaction(() => {
        for (const c of outcast) {
          c.record.banned = true
          store.putContributor(c.record)
        }
      })
      return outcast
    },

    flush: persist,
  }
}

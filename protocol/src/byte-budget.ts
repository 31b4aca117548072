import { ProtocolError } from './protocol-error.ts'

/**
 * Bytes that may be held at once by everything sharing the budget: a process-wide bound on
 * the payloads being read from peers. Each reader reserves a payload's full size before
 * reading it and gives it back when done: all-or-nothing, so readers that each hold part
 * of what they need can never wait on each other forever.
 *
 * Large reservations queue first come, first served, so a large one is not starved by
 * others behind it. Small ones (at most `smallBytes`) have a lane of their own: they never
 * queue behind a large one, and `smallReserve` bytes are kept that only they may use, so a
 * few peers that pin the large lane cannot hold up anyone's small messages. A zero-byte
 * reservation is granted at once. Each holder (a peer) may ask for at most `maxPerHolder`
 * bytes, held or waiting, so no one peer takes the whole budget.
 */
export interface ByteBudget {
  /**
   * Waits until `bytes` are free, reserves them and returns the function that gives them
   * back (idempotent). Rejects at once when `bytes` exceeds what its lane can ever hold, or
   * `holder`'s share, and with the signal's reason when it aborts first.
   */
  acquire(bytes: number, signal: AbortSignal, holder?: string): Promise<() => void>
  /** Bytes reserved now. */
  readonly used: number
  readonly capacity: number
}

export interface ByteBudgetOptions {
  /** Reservations of at most this many bytes take the small lane. @default 0 (none) */
  smallBytes?: number
  /** Bytes of the capacity that only small reservations may use. @default 0 */
  smallReserve?: number
  /** Most bytes one holder may have reserved or waiting at once. @default capacity */
  maxPerHolder?: number
}

interface Waiter {
  bytes: number
  grant: () => void
}

/** A budget of `capacity` bytes. */
export function createByteBudget(capacity: number, options: ByteBudgetOptions = {}): ByteBudget {
  const smallBytes = options.smallBytes ?? 0
  const largeCapacity = capacity - (options.smallReserve ?? 0)
  const maxPerHolder = options.maxPerHolder ?? capacity
  let used = 0
  const small: Waiter[] = []
  const large: Waiter[] = []
  const perHolder = new Map<string, number>()

  const grantWaiting = () => {
    while (small.length > 0 && used + small[0]!.bytes <= capacity) small.shift()!.grant()
    while (large.length > 0 && used + large[0]!.bytes <= largeCapacity) large.shift()!.grant()
  }
  const charge = (holder: string | undefined, bytes: number) => {
    if (holder == null) return
    const left = (perHolder.get(holder) ?? 0) + bytes
    if (left === 0) perHolder.delete(holder)
    else perHolder.set(holder, left)
  }
  const releaser = (bytes: number, holder: string | undefined) => {
    let released = false
    return () => {
      if (released) return
      released = true
      used -= bytes
      charge(holder, -bytes)
      grantWaiting()
    }
  }

  return {
    acquire(bytes, signal, holder) {
      signal.throwIfAborted()
      if (bytes === 0) return Promise.resolve(() => {})
      const isSmall = bytes <= smallBytes
      const limit = isSmall ? capacity : largeCapacity
      if (bytes > limit) {
        return Promise.reject(
          new ProtocolError(
            'MESSAGE_TOO_LARGE',
            `a payload of ${bytes} bytes exceeds the ${limit} bytes this peer reads at once`,
          ),
        )
      }
      const asked = holder == null ? 0 : (perHolder.get(holder) ?? 0)
      if (asked + bytes > maxPerHolder) {
        return Promise.reject(
          new ProtocolError(
            'PEER_BUDGET_EXCEEDED',
            `this peer already has ${asked} payload bytes in flight and may have ${maxPerHolder}: send one result at a time`,
          ),
        )
      }
      charge(holder, bytes)
      const queue = isSmall ? small : large
      if (queue.length === 0 && used + bytes <= limit) {
        used += bytes
        return Promise.resolve(releaser(bytes, holder))
      }
      return new Promise((resolve, reject) => {
        const entry: Waiter = {
          bytes,
          grant: () => {
            signal.removeEventListener('abort', onAbort)
            used += bytes
            resolve(releaser(bytes, holder))
          },
        }
        const onAbort = () => {
          const index = queue.indexOf(entry)
          if (index >= 0) queue.splice(index, 1)
          charge(holder, -bytes)
          reject(signal.reason)
          grantWaiting()
        }
        signal.addEventListener('abort', onAbort, { once: true })
        queue.push(entry)
      })
    },
    get used() {
      return used
    },
    capacity,
  }
}

import { ProtocolError } from './protocol-error.ts'

/**
 * Bytes that may be held at once by everything sharing the budget: a process-wide bound on
 * the payloads being read from peers. Each reader reserves a payload's full size before
 * reading it and gives it back when done: all-or-nothing, so readers that each hold part
 * of what they need can never wait on each other forever.
 */
export interface ByteBudget {
  /**
   * Waits (first come, first served) until `bytes` are free, reserves them and returns the
   * function that gives them back (idempotent). Rejects at once when `bytes` exceeds the
   * whole budget, and with the signal's reason when it aborts first.
   */
  acquire(bytes: number, signal: AbortSignal): Promise<() => void>
  /** Bytes reserved now. */
  readonly used: number
  readonly capacity: number
}

/** A budget of `capacity` bytes. */
export function createByteBudget(capacity: number): ByteBudget {
  let used = 0
  const waiting: Array<{ bytes: number; grant: () => void }> = []

  // First come, first served: a large reservation is not starved by small ones behind it.
  const grantWaiting = () => {
    while (waiting.length > 0 && used + waiting[0]!.bytes <= capacity) waiting.shift()!.grant()
  }
  const releaser = (bytes: number) => {
    let released = false
    return () => {
      if (released) return
      released = true
      used -= bytes
      grantWaiting()
    }
  }

  return {
    acquire(bytes, signal) {
      signal.throwIfAborted()
      if (bytes > capacity) {
        return Promise.reject(
          new ProtocolError(
            'MESSAGE_TOO_LARGE',
            `a payload of ${bytes} bytes exceeds the ${capacity} bytes this peer reads at once`,
          ),
        )
      }
      if (waiting.length === 0 && used + bytes <= capacity) {
        used += bytes
        return Promise.resolve(releaser(bytes))
      }
      return new Promise((resolve, reject) => {
        const entry = {
          bytes,
          grant: () => {
            signal.removeEventListener('abort', onAbort)
            used += bytes
            resolve(releaser(bytes))
          },
        }
        const onAbort = () => {
          const index = waiting.indexOf(entry)
          if (index >= 0) waiting.splice(index, 1)
          reject(signal.reason)
          grantWaiting()
        }
        signal.addEventListener('abort', onAbort, { once: true })
        waiting.push(entry)
      })
    },
    get used() {
      return used
    },
    capacity,
  }
}

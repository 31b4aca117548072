import { SettlementError } from '../settlement-error.ts'

/** How long one chain operation (a read, a transaction and its receipt) may take by default. */
export const CHAIN_TIMEOUT_MS = 30_000

/**
 * Runs `work` under the caller's signal and a timeout. `work` gets a signal that fires on
 * either (hand it to fetch, viem's transport); the result is also raced against it, since
 * not every viem action stops polling when its requests fail. A caller's abort rejects with
 * the caller's reason; the timeout with a `SettlementError` (`CHAIN_TIMEOUT`) naming `what`.
 */
export async function withDeadline<T>(
  what: string,
  signal: AbortSignal,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  signal.throwIfAborted()
  const timeout = AbortSignal.timeout(timeoutMs)
  const combined = AbortSignal.any([signal, timeout])
  const timedOut = () =>
    new SettlementError(
      'CHAIN_TIMEOUT',
      `${what} did not finish within ${timeoutMs} ms: is the chain's RPC URL reachable and the node synced? Raise the timeout for a slow node.`,
    )
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.aborted ? signal.reason : timedOut())
    combined.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work(combined), aborted])
  } catch (err) {
    // A request that failed because our own deadline fired says "aborted"; name the cause.
    if (combined.aborted && !signal.aborted && !(err instanceof SettlementError)) throw timedOut()
    throw err
  } finally {
    combined.removeEventListener('abort', onAbort!)
  }
}

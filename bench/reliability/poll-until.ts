/**
 * Calls `probe` every `intervalMs` until it returns a value other than `undefined`, and
 * resolves with it; a probe that throws (a relay that is down) counts as not yet. Rejects,
 * naming `what`, when `timeoutMs` passes or `signal` aborts.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs
  let lastError: unknown
  for (;;) {
    if (options.signal?.aborted) throw new Error(`stopped waiting for ${what}`)
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    if (performance.now() > deadline)
      throw new Error(
        `${what}: not within ${options.timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ''}`,
      )
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50))
  }
}

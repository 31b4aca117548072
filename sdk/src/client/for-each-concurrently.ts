/**
 * Runs `fn` over `items`, at most `limit` at a time. The first failure aborts the signal
 * the others were given (so their uploads stop), no new item starts, and once every call
 * in flight has settled that first failure is thrown.
 *
 * @example
 * await forEachConcurrently(files, 4, async (file, i, signal) => {
 *   refs[i] = await client.uploadTensor(await read(file), { signal })
 * })
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const failed = new AbortController()
  const stop = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      stop.throwIfAborted()
      const index = next++
      await fn(items[index]!, index, stop)
    }
  }
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () =>
    lane().catch((err: unknown) => {
      // Only the first failure is the cause; the others are its echo (aborted calls).
      if (!failed.signal.aborted) failed.abort(err)
    }),
  )
  await Promise.all(lanes)
  if (failed.signal.aborted) throw failed.signal.reason
}

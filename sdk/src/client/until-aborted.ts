/**
 * Settles like `work`, or rejects with the signal's reason as soon as it aborts (at once if it
 * already has). `work` itself goes on: use it to stop waiting for something that cannot be
 * cancelled, such as a kernel that ignores its signal or a dial already in flight. A late
 * rejection of `work` is absorbed, never reported as unhandled. Browser-safe.
 *
 * @example
 * const output = await untilAborted(executor.run(request, { signal, timeoutMs }), signal)
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined)
    return Promise.reject(signal.reason)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

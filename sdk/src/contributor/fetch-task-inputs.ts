import { createByteBudget, type InputRef } from '@tabswarm/protocol'
import { untilAborted } from '../client/until-aborted.ts'
import { checkInput } from './check-input.ts'
import { InputFetchError } from './input-fetch-error.ts'
import type { FetchedInput, InputOrigin, InputSource } from './input-source.ts'

/**
 * Inputs of one task fetched at once. A decoder stage names dozens of weight tensors, and
 * every fetch is a stream: the relay's blob protocol takes 8 streams per connection and a
 * tab's blob server 4, so opening them all at once would have the extra streams reset.
 */
export const MAX_CONCURRENT_INPUT_FETCHES = 4

/** Where a task's input bytes came from, for events and benchmarks. */
export interface InputsFetched {
  /** Bytes by origin; an input named twice in a task is fetched and counted once. */
  bytes: Record<InputOrigin, number>
  /** Sources or peers that failed before one served (dead, slow, lying, not holding). */
  fallbacks: number
  elapsedMs: number
}

/** Budget of {@link fetchTaskInputs}. */
export interface FetchTaskInputsOptions {
  /** The task's signal: a stop, a drain timeout or a lost lease ends the fetch. */
  signal: AbortSignal
  /** What the task's kernel deadline leaves for fetching; see `kernelDeadlineMs`. */
  timeoutMs: number
  /**
   * Fetch `lazy` inputs too. Off for a task's up-front fetch: a lazy input (a decoder
   * stage's replay `prefix`) is fetched only when the program asks for it. @default false
   */
  includeLazy?: boolean
}

/**
 * Fetches every input of a task from `source`, at once, each checked against its ref's
 * sha-256 and length (`checkInput`) whatever the source. Returns the bytes in `refs`'
 * order; a `lazy` input is skipped (its entry `undefined`) unless `includeLazy`. Rejects with {@link InputFetchError}: `INPUT_MISMATCH` (the source delivered wrong
 * bytes), `INPUT_UNAVAILABLE` (it served none) or `INPUT_TIMEOUT` (`timeoutMs` passed);
 * an abort of `signal` is thrown as its reason, so the task's own stop wins.
 *
 * @example
 * const { buffers, fetched } = await fetchTaskInputs(lease.inputs, inputs, { signal, timeoutMs: 50_000 })
 */
export async function fetchTaskInputs(
  refs: readonly InputRef[],
  source: InputSource,
  options: FetchTaskInputsOptions,
): Promise<{ buffers: Array<Uint8Array | undefined>; fetched: InputsFetched }> {
  const { signal, timeoutMs } = options
  const started = performance.now()
  const deadline = AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs)))
  // The first input that fails ends the others' fetches: the task has failed already.
  const failed = new AbortController()
  const fetchSignal = AbortSignal.any([signal, deadline, failed.signal])
  const fetched: InputsFetched = {
    bytes: { cache: 0, peer: 0, relay: 0 },
    fallbacks: 0,
    elapsedMs: 0,
  }
  const byHash = new Map<string, Promise<Uint8Array>>()
  // A counting semaphore: one unit a fetch in flight.
  const lanes = createByteBudget(MAX_CONCURRENT_INPUT_FETCHES)
  const fetchOne = (ref: InputRef): Promise<Uint8Array> =>
    fetchChecked(ref).catch((err: unknown) => {
      failed.abort(err)
      throw err
    })
  const fetchChecked = async (ref: InputRef): Promise<Uint8Array> => {
    let got: FetchedInput
    let release: (() => void) | undefined
    try {
      release = await lanes.acquire(1, fetchSignal)
      // Raced against the signal: a source that ignores it still cannot outlast the task.
      got = await untilAborted(source.fetch(ref, { signal: fetchSignal, timeoutMs }), fetchSignal)
    } catch (err) {
      if (signal.aborted) throw signal.reason
      if (deadline.aborted) {
        throw new InputFetchError(
          'INPUT_TIMEOUT',
          `input ${ref.name} (${ref.sha256}, ${ref.byteLength} bytes) not fetched within ${timeoutMs} ms`,
          { cause: err },
        )
      }
      if (err instanceof InputFetchError) throw err
      throw new InputFetchError(
        'INPUT_UNAVAILABLE',
        `input ${ref.name} (${ref.sha256}) could not be fetched: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      )
    } finally {
      release?.()
    }
    await checkInput(ref, got.bytes, got.from)
    fetched.bytes[got.from] += got.bytes.byteLength
    fetched.fallbacks += got.fallbacks ?? 0
    return got.bytes
  }
  const buffers = await Promise.all(
    refs.map((ref) => {
      if (ref.lazy && !options.includeLazy) return undefined
      const key = `${ref.sha256}:${ref.byteLength}`
      let pending = byHash.get(key)
      if (pending == null) {
        pending = fetchOne(ref)
        byHash.set(key, pending)
      }
      return pending
    }),
  )
  fetched.elapsedMs = performance.now() - started
  return { buffers, fetched }
}

import { MAX_HELD_BLOBS } from '@tabswarm/protocol'
import { untilAborted } from '../client/until-aborted.ts'
import { checkInput } from './check-input.ts'
import { InputFetchError } from './input-fetch-error.ts'
import type { FetchedInput, InputSource } from './input-source.ts'

/** One source of a {@link fallbackInputSource}, named for error messages. */
export interface NamedInputSource {
  name: string
  source: InputSource
  /**
   * Longest this source may take before the next is asked: a slow source costs this
   * much, then a fallback. @default what is left of the caller's budget
   */
  timeoutMs?: number
}

/**
 * Tries `sources` in order and returns the first answer that checks out (`checkInput`):
 * a source that fails, times out or sends wrong bytes costs a fallback to the next one,
 * never a wrong input. Each source gets its own `timeoutMs`, or else what is left of the
 * caller's budget (a source that ignores its signal is given up on all the same). `held()` is
 * every source's, most recent first, without duplicates, at most `MAX_HELD_BLOBS`; `keep` goes to
 * every source that keeps.
 * Rejects with {@link InputFetchError} (`INPUT_UNAVAILABLE`, every failure named) when
 * none serves the input; an abort of the caller's signal is thrown as is.
 *
 * @example
 * const inputs = fallbackInputSource([
 *   { name: 'peers', source: peerSource },
 *   { name: 'relay', source: relaySource },
 * ])
 */
export function fallbackInputSource(sources: readonly NamedInputSource[]): InputSource {
  return {
    async fetch(ref, { signal, timeoutMs }) {
      const started = performance.now()
      const failures: string[] = []
      let fallbacks = 0
      for (const { name, source, timeoutMs: own } of sources) {
        signal.throwIfAborted()
        const total = Math.floor(timeoutMs - (performance.now() - started))
        if (total <= 0) break
        const left = Math.min(total, own ?? total)
        try {
          const attempt = AbortSignal.any([signal, AbortSignal.timeout(left)])
          // Raced against the signal: a source that ignores it costs its budget, no more.
          const got: FetchedInput = await untilAborted(
            source.fetch(ref, { signal: attempt, timeoutMs: left }),
            attempt,
          )
          await checkInput(ref, got.bytes, name)
          return { ...got, fallbacks: fallbacks + (got.fallbacks ?? 0) }
        } catch (err) {
          if (signal.aborted) throw signal.reason
          fallbacks++
          failures.push(`${name}: ${(err as Error)?.message ?? String(err)}`)
        }
      }
      throw new InputFetchError(
        'INPUT_UNAVAILABLE',
        `no source served input ${ref.name} (${ref.sha256})${failures.length ? `: ${failures.join('; ')}` : ''}`,
      )
    },
    ...(sources.some(({ source }) => source.held != null)
      ? {
          held() {
            const all = new Set<string>()
            for (const { source } of sources)
              for (const hash of source.held?.() ?? []) all.add(hash)
            return [...all].slice(0, MAX_HELD_BLOBS)
          },
        }
      : {}),
    ...(sources.some(({ source }) => source.keep != null)
      ? {
          keep(sha256: string, bytes: Uint8Array) {
            for (const { source } of sources) source.keep?.(sha256, bytes)
          },
        }
      : {}),
  }
}

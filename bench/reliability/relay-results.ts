import type { TaskResultRecord } from '@tabswarm/protocol'

/**
 * Every accepted result of a job, read page by page from the relay's HTTP API, keyed by task
 * index. The API publishes a result only once it is committed, so this is what the relay
 * has promised to keep.
 */
export async function acceptedResults(
  relayUrl: string,
  jobId: string,
  signal: AbortSignal,
): Promise<Map<number, TaskResultRecord>> {
  const results = new Map<number, TaskResultRecord>()
  let after = 0
  for (let page = 0; page < 1_000; page++) {
    const response = await fetch(`${relayUrl}/v1/jobs/${jobId}/results?after=${after}&limit=1000`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
    })
    if (!response.ok) throw new Error(`GET results answered ${response.status}`)
    const body = (await response.json()) as { results: TaskResultRecord[]; cursor: number }
    for (const r of body.results) results.set(r.index, r)
    if (body.results.length === 0 || body.cursor === after) break
    after = body.cursor
  }
  return results
}

/**
 * Follows a job's accepted results incrementally (only what is new since the last call), so
 * that a snapshot is at hand the moment a kill point is reached.
 */
export function followResults(relayUrl: () => string, jobId: string) {
  const seen = new Map<number, TaskResultRecord>()
  let cursor = 0
  return {
    seen: seen as ReadonlyMap<number, TaskResultRecord>,
    /** Reads pages until it has caught up with what the relay has published. */
    async update(signal: AbortSignal): Promise<void> {
      for (let page = 0; page < 1_000; page++) {
        const response = await fetch(
          `${relayUrl()}/v1/jobs/${jobId}/results?after=${cursor}&limit=1000`,
          { signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) },
        )
        if (!response.ok) throw new Error(`GET results answered ${response.status}`)
        const body = (await response.json()) as { results: TaskResultRecord[]; cursor: number }
        for (const r of body.results) seen.set(r.index, r)
        cursor = body.cursor
        if (body.results.length < 1000) return
      }
    },
  }
}

/** Counts results of `before` missing from `after`, or present with other outputs. */
export function missingResults(
  before: ReadonlyMap<number, TaskResultRecord>,
  after: ReadonlyMap<number, TaskResultRecord>,
): number {
  let missing = 0
  for (const [index, result] of before) {
    const now = after.get(index)
    if (now == null || now.outputs[0]?.blob !== result.outputs[0]?.blob) missing++
  }
  return missing
}

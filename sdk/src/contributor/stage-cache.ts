import type { DecoderStage, StageKvCache } from '@tabswarm/worker-kernels'

/** Bounds of a {@link StageCache}. */
export interface StageCacheLimits {
  /** Bound stages kept at once; the least recently used is destroyed past it. @default 4 */
  maxStages?: number | undefined
  /**
   * Weight bytes of the bound stages kept at once (what their device buffers hold); the least
   * recently used are destroyed past it, but never the one just bound. @default 2 GiB
   */
  maxStageBytes?: number | undefined
  /** KV caches kept at once, over every stage; least recently used first out. @default 64 */
  maxSequences?: number | undefined
}

/** Where a stage's pipeline position is: one job's layers `fromLayer … toLayer − 1`. */
export interface StageKey {
  jobId: string
  fromLayer: number
  toLayer: number
}

/**
 * The decoder stages a contributor keeps bound between tasks, and the KV caches of the
 * sequences each has run, both bounded and least recently used first out. A pipeline step
 * reuses its stage (weights stay on the device) and its sequence's cache (no replay); a
 * stage evicted takes its caches with it, since a cache lives on its stage's device.
 */
export interface StageCache {
  /** The stage bound at `key`, marking it recently used. */
  stage(key: StageKey): DecoderStage | undefined
  /** Keeps a newly bound stage, evicting (and destroying) others past the limits. */
  addStage(key: StageKey, stage: DecoderStage, weightBytes: number): void
  /** The KV cache of `sequence` at a kept stage, made empty by `stage.createCache` if absent. */
  kvCache(key: StageKey, sequence: string): StageKvCache
  /** Forgets a sequence's cache (a failed step may have left it half-written). */
  dropKvCache(key: StageKey, sequence: string): void
  /** Destroys every stage and forgets every cache. */
  clear(): void
  readonly stages: number
  readonly sequences: number
}

interface Bound {
  stage: DecoderStage
  bytes: number
  caches: Set<string>
}

const stageId = ({ jobId, fromLayer, toLayer }: StageKey) => `${jobId}\n${fromLayer}\n${toLayer}`

/**
 * A {@link StageCache} in memory (the stages' own buffers are wherever their factory put them).
 *
 * @example
 * const cache = createStageCache({ maxStages: 2 })
 * cache.addStage(key, await factory(runner, options), weightBytes)
 * const kv = cache.kvCache(key, lease.program.sequence)
 */
export function createStageCache(limits: StageCacheLimits = {}): StageCache {
  const maxStages = limits.maxStages ?? 4
  const maxStageBytes = limits.maxStageBytes ?? 2 * 1024 ** 3
  const maxSequences = limits.maxSequences ?? 64
  // Map order is insertion order: re-inserting on use makes each an LRU.
  const stages = new Map<string, Bound>()
  const caches = new Map<string, { stage: string; cache: StageKvCache }>()
  let stageBytes = 0

  const evictStage = (id: string) => {
    const bound = stages.get(id)
    if (bound == null) return
    stages.delete(id)
    stageBytes -= bound.bytes
    for (const cacheId of bound.caches) caches.delete(cacheId)
    bound.stage.destroy()
  }

  return {
    stage(key) {
      const id = stageId(key)
      const bound = stages.get(id)
      if (bound == null) return undefined
      stages.delete(id)
      stages.set(id, bound)
      return bound.stage
    },
    addStage(key, stage, weightBytes) {
      const id = stageId(key)
      evictStage(id)
      for (const oldest of stages.keys()) {
        if (stages.size < maxStages && stageBytes + weightBytes <= maxStageBytes) break
        evictStage(oldest)
      }
      stages.set(id, { stage, bytes: weightBytes, caches: new Set() })
      stageBytes += weightBytes
    },
    kvCache(key, sequence) {
      const id = stageId(key)
      const bound = stages.get(id)
      if (bound == null)
        throw new Error(
          `no stage bound for layers ${key.fromLayer}…${key.toLayer - 1} of job ${key.jobId}`,
        )
      const cacheId = `${id}\n${sequence}`
      const held = caches.get(cacheId)
      if (held != null) {
        caches.delete(cacheId)
        caches.set(cacheId, held)
        return held.cache
      }
      for (const [oldestId, oldest] of caches) {
        if (caches.size < maxSequences) break
        caches.delete(oldestId)
        stages.get(oldest.stage)?.caches.delete(oldestId)
      }
      const cache = bound.stage.createCache()
      caches.set(cacheId, { stage: id, cache })
      bound.caches.add(cacheId)
      return cache
    },
    dropKvCache(key, sequence) {
      const id = stageId(key)
      const cacheId = `${id}\n${sequence}`
      caches.delete(cacheId)
      stages.get(id)?.caches.delete(cacheId)
    },
    clear() {
      for (const id of [...stages.keys()]) evictStage(id)
      caches.clear()
    },
    get stages() {
      return stages.size
    },
    get sequences() {
      return caches.size
    },
  }
}

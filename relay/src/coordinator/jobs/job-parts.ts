import { sha256HexSync } from '../../blobs/sha256-hex.ts'

/**
 * The relay-side index of job parts: bytes a lease names by content address that are not a
 * stored blob of their own (a matmul row band of A, a column band of B). The relay's blob
 * protocol serves them beside the blob store (see `swarm/job-part-source.ts`), so every
 * input hash a lease names can be fetched from the relay. Parts are views of memory the
 * job holds anyway (its decoded inputs, its materialised B bands): the index keeps no copy,
 * and forgets a job's parts when the job ends.
 */
export interface JobParts {
  /**
   * Registers `bytes` as a part of job `jobId` and returns their sha-256 (hex). Hashing is
   * the caller's to do once per part: call this once per band, not per lease.
   */
  add(jobId: string, bytes: Uint8Array): string
  /** The bytes of a part of a live job, or undefined. */
  get(sha256: string): Uint8Array | undefined
  /** Forgets the parts of `jobId`; a part another live job also holds stays. */
  dropJob(jobId: string): void
  /** Parts indexed, over all live jobs. */
  readonly size: number
}

/** An empty index of job parts. */
export function createJobParts(): JobParts {
  const parts = new Map<string, { bytes: Uint8Array; jobs: Set<string> }>()
  const byJob = new Map<string, Set<string>>()
  return {
    add(jobId, bytes) {
      const hash = sha256HexSync(bytes)
      const entry = parts.get(hash)
      if (entry == null) parts.set(hash, { bytes, jobs: new Set([jobId]) })
      else entry.jobs.add(jobId)
      const hashes = byJob.get(jobId)
      if (hashes == null) byJob.set(jobId, new Set([hash]))
      else hashes.add(hash)
      return hash
    },
    get: (sha256) => parts.get(sha256)?.bytes,
    dropJob(jobId) {
      const hashes = byJob.get(jobId)
      if (hashes == null) return
      byJob.delete(jobId)
      for (const hash of hashes) {
        const entry = parts.get(hash)
        if (entry == null) continue
        entry.jobs.delete(jobId)
        if (entry.jobs.size === 0) parts.delete(hash)
      }
    },
    get size() {
      return parts.size
    },
  }
}

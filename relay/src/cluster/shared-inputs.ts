import type { BlobStore } from '../blobs/blob-store.ts'

/**
 * Where the inputs of tasks offered across a cluster live, by content address: the blob
 * directory its relays share. An owner puts there what only its memory holds (a matmul
 * band); a relay that claims an offer reads from there what it serves its contributors.
 */
export interface SharedInputs {
  has(sha256: string): boolean
  put(sha256: string, bytes: Uint8Array): void
}

/** The shared inputs of a relay whose large blobs are files in the shared directory. */
export function sharedInputsIn(files: Pick<BlobStore, 'has' | 'put'>): SharedInputs {
  return {
    has: (sha256) => files.has(sha256),
    put(sha256, bytes) {
      if (!files.has(sha256)) files.put(bytes)
    },
  }
}

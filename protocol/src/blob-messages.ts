import { z } from 'zod'
import { MAX_TEXT } from './limits.ts'

/**
 * Messages of the blob protocol (`/tabswarm/blob/1.0.0`): content-addressed bytes fetched
 * from the relay's store or from a peer's cache. A stream carries one request and one
 * response: a JSON header frame, then (for a `blob`) raw chunk frames that add up to the
 * announced size. Every frame is length-prefixed; every header is validated here.
 */

/** Largest blob either side will announce, allocate or accept. */
export const MAX_BLOB_BYTES = 256 * 1024 * 1024

/** Largest chunk frame on the wire. A sender picks any size up to this. */
export const MAX_BLOB_CHUNK_BYTES = 1024 * 1024

/**
 * Chunk size a server sends by default: the largest frame receivers accept, so a blob costs
 * few frames (each one read, checked and listed by the receiver). Streams interleave below
 * the frames anyway: a WebRTC data channel or yamux cuts a frame into its own messages.
 */
export const DEFAULT_BLOB_CHUNK_BYTES = MAX_BLOB_CHUNK_BYTES

/** Largest header frame (request or response): a few short fields, nothing more. */
export const MAX_BLOB_HEADER_BYTES = 4 * 1024

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex sha-256')

/** Asks for the blob whose sha-256 is `hash`. */
export const BlobRequestSchema = z.object({ type: z.literal('get'), hash })
export type BlobRequest = z.infer<typeof BlobRequestSchema>

/** The blob follows in `ceil(size / chunk)` chunk frames. */
export const BlobFoundSchema = z.object({
  type: z.literal('blob'),
  hash,
  size: z.number().int().min(0).max(MAX_BLOB_BYTES),
})
export const BlobNotFoundSchema = z.object({ type: z.literal('not-found'), hash })
export const BlobErrorSchema = z.object({
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(MAX_TEXT),
})

export const BlobResponseSchema = z.discriminatedUnion('type', [
  BlobFoundSchema,
  BlobNotFoundSchema,
  BlobErrorSchema,
])
export type BlobFound = z.infer<typeof BlobFoundSchema>
export type BlobNotFound = z.infer<typeof BlobNotFoundSchema>
export type BlobErrorMessage = z.infer<typeof BlobErrorSchema>
export type BlobResponse = z.infer<typeof BlobResponseSchema>

/**
 * Hard caps on what a peer may send. Every peer is untrusted: these are checked before a
 * byte is parsed or allocated beyond them.
 */

/**
 * Largest JSON header of one message: a decoder lease names up to `MAX_LEASE_INPUTS`
 * inputs, each with its providers.
 */
export const MAX_HEADER_BYTES = 256 * 1024

/** Largest whole message (header and binary payload) on a work stream. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024

/**
 * Largest payload any message may carry whatever its header: what is left of
 * {@link MAX_MESSAGE_BYTES} after the header length and the largest header. A task whose
 * inputs or outputs need more can never travel, so jobs are checked against it at submit.
 */
export const MAX_PAYLOAD_BYTES = MAX_MESSAGE_BYTES - 4 - MAX_HEADER_BYTES

/** Largest tensor rank accepted anywhere on the wire. */
export const MAX_TENSOR_RANK = 8

/** Largest single dimension of a tensor on the wire. */
export const MAX_TENSOR_DIM = 1 << 24

/** Longest free-text field (error messages, adapter descriptions). */
export const MAX_TEXT = 512

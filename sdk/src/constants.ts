import { RELAY_HEARTBEAT_MS } from '@tabswarm/protocol'

/**
 * The SDK's default timeouts and limits, in one place. Every one can be overridden where it
 * is used (client options, call options, CLI flags); these are what you get otherwise. The
 * relay's own defaults it sizes itself against come from `@tabswarm/protocol`.
 */

/** One HTTP request to the relay that is not a long-lived stream or a blob transfer. */
export const REQUEST_TIMEOUT_MS = 30_000
/** Uploading or downloading one blob (tensors can be hundreds of MiB). */
export const BLOB_TRANSFER_TIMEOUT_MS = 10 * 60_000
/**
 * A whole `client.matmul` or `tabswarm matmul`, upload to download; the job is cancelled
 * when it passes.
 */
export const MATMUL_TIMEOUT_MS = 30 * 60_000
/** A whole `tabswarm run`, upload to the last output written; the job is cancelled when it passes. */
export const RUN_TIMEOUT_MS = 60 * 60_000
/**
 * A whole `client.generate` / `generateBatch` or `tabswarm generate`, submit to last token;
 * the job is cancelled when it passes.
 */
export const GENERATE_TIMEOUT_MS = 30 * 60_000
/** Tokens generated per prompt when the caller names no `maxNewTokens`. */
export const DEFAULT_MAX_NEW_TOKENS = 64
/**
 * Uploading a whole model directory (every safetensors file, one after another): a few
 * GiB at the slowest link this serves.
 */
export const MODEL_UPLOAD_TIMEOUT_MS = 60 * 60_000
/** Inputs uploaded at once by `client.map`, and read and uploaded at once by `tabswarm run`. */
export const UPLOAD_CONCURRENCY = 4

/** A refused request (HTTP 429 or 503) is tried at most this many more times. */
export const MAX_REQUEST_RETRIES = 3
/** Longest wait before one retry, whatever `Retry-After` says. */
export const MAX_RETRY_WAIT_MS = 30_000

/**
 * An event stream that has carried nothing, not even a heartbeat, for this long is taken
 * for dead (a half-open connection) and reopened: three missed heartbeats of the relay's
 * default `RELAY_HEARTBEAT_MS`.
 */
export const EVENT_STREAM_IDLE_TIMEOUT_MS = 3 * RELAY_HEARTBEAT_MS
/** Pause before reopening an event stream the relay closed before the job ended. */
export const EVENT_STREAM_RECONNECT_MS = 1_000
/** Reopen a failing event stream this many times in a row before giving up. */
export const MAX_EVENT_STREAM_RETRIES = 5
/** Longest pause between two attempts to reopen a failing event stream. */
export const MAX_EVENT_STREAM_BACKOFF_MS = 30_000

/** Asking a relay's HTTP API for its libp2p addresses. */
export const RELAY_LOOKUP_TIMEOUT_MS = 10_000
/** The first dial of the relay by a headless worker, per address tried. */
export const RELAY_DIAL_TIMEOUT_MS = 15_000
/** One request/response exchange of a contributor with the relay. */
export const WORK_REQUEST_TIMEOUT_MS = 30_000
/** Longest wait between retries while a contributor cannot reach the relay. */
export const MAX_RELAY_BACKOFF_MS = 30_000
/** How long a draining contributor waits for its task in flight before handing it back. */
export const DRAIN_TIMEOUT_MS = 60_000
/** Handing a lease back on the way out: short, since the contributor is leaving anyway. */
export const LEASE_RELEASE_TIMEOUT_MS = 5_000
/**
 * How much earlier than its lease's expiry a contributor's kernel is given up on, at
 * most: time for a kernel that never ends to be reported (`task-error`) while the lease is
 * still alive, through the executor's own grace past the deadline (a tab's kernel worker
 * 5 s, a headless worker's kernel process 2 s) and a relay slow to answer. See
 * `kernelDeadlineMs`.
 */
export const KERNEL_DEADLINE_MARGIN_MS = 10_000
/**
 * The same margin as a share of the lease, for short leases: a quarter of it, when that
 * is less than `KERNEL_DEADLINE_MARGIN_MS`.
 */
export const KERNEL_DEADLINE_MARGIN_FRACTION = 0.25
/**
 * Bytes of recent task inputs a headless worker keeps, so the inputs its tasks share (a
 * matmul job's B, a band of A) come from the relay once, not once per task.
 */
export const HEADLESS_INPUT_CACHE_BYTES = 64 * 1024 * 1024
/** Each run of the matmul speed probe a contributor times at start. */
export const SPEED_PROBE_TIMEOUT_MS = 30_000

/**
 * A whole on-chain claim (`claimOnChain`, `tabswarm claim`): checking it, the wallet's
 * signature (a person may take a while to confirm) and the receipt.
 */
export const CLAIM_TIMEOUT_MS = 2 * 60_000

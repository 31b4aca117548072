/**
 * The error codes that cross a process or peer boundary: on the wire between contributors
 * and the relay, in the HTTP API's `{ error: { code, message } }` answers, and from a
 * kernel worker to its host. Errors arrive as `{ name, code, message }`, so the far side
 * matches on these codes; each error class types its `code` with its table here.
 */

/** Codes of `ProtocolError` and of `error` messages about the wire protocol itself. */
export const PROTOCOL_ERROR_CODES = [
  'MALFORMED_FRAME',
  'MESSAGE_TOO_LARGE',
  'INVALID_MESSAGE',
  'UNEXPECTED_MESSAGE',
  'PAYLOAD_MISMATCH',
  'PEER_BUDGET_EXCEEDED',
  'STREAM_IDLE',
  'REMOTE_ERROR',
] as const
/** A peer broke the wire protocol (see `ProtocolError`). */
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number]

/** Why a blob fetch failed (see `BlobFetchError`). */
export const BLOB_FETCH_ERROR_CODES = [
  /** The peer does not hold the blob. */
  'NOT_FOUND',
  /** The bytes received do not hash to the sha-256 asked for. */
  'HASH_MISMATCH',
  /** The blob is larger than the caller (or the protocol) accepts. */
  'TOO_LARGE',
  /** The stream ended before the announced size arrived, or ran past it. */
  'TRUNCATED',
  /** No chunk arrived within the idle timeout. */
  'TIMEOUT',
  /** The peer answered with an `error` message. */
  'REMOTE_ERROR',
  /** No peer and no relay could serve the blob. */
  'UNAVAILABLE',
] as const
/** Why a blob fetch failed. */
export type BlobFetchErrorCode = (typeof BLOB_FETCH_ERROR_CODES)[number]

/**
 * Codes of the coordinator's refusals (`CoordinatorError`): sent to contributors as `error`
 * messages and to API clients in error answers.
 */
export const COORDINATOR_ERROR_CODES = [
  'INVALID_JOB',
  'JOB_NOT_FOUND',
  'JOB_NOT_COMPLETE',
  'BLOB_NOT_FOUND',
  'INSUFFICIENT_CREDITS',
  'NOT_OWNER',
  /** A cancel of a job that has already ended: nothing is stopped, nothing refunded. */
  'JOB_FINISHED',
  'CONTRIBUTOR_BANNED',
  'INVALID_AMOUNT',
  'LEASE_NOT_HELD',
  /**
   * A cancel handed to the relay running the job (in a cluster) that it has not acted on
   * yet: it stays requested.
   */
  'CANCEL_PENDING',
] as const
/** A request the coordinator refuses. */
export type CoordinatorErrorCode = (typeof COORDINATOR_ERROR_CODES)[number]

/**
 * Why the relay refused a contributor's work request (`RelayRefusalError`): a coordinator
 * refusal, a protocol violation of the request, or, found in the protocol negotiation,
 * `WORK_PROTOCOL_UNSUPPORTED` (the relay does not speak this build's work protocol).
 */
export type RelayRefusalCode =
  | CoordinatorErrorCode
  | ProtocolErrorCode
  | 'WORK_PROTOCOL_UNSUPPORTED'

/**
 * Why the relay's blob store refused bytes (`BlobStoreError`), answered to API clients:
 * `TRUNCATED` (an upload that broke off) as a 500, the others with their API status.
 */
export const BLOB_STORE_ERROR_CODES = [
  'BAD_HASH',
  'PAYLOAD_TOO_LARGE',
  'STORE_FULL',
  'TRUNCATED',
] as const
/** Why the relay's blob store refused bytes. */
export type BlobStoreErrorCode = (typeof BLOB_STORE_ERROR_CODES)[number]

/** Codes of the kernel errors, which cross from a kernel worker to its host. */
export const KERNEL_ERROR_CODES = [
  'GPU_UNAVAILABLE',
  'DEVICE_LOST',
  'KERNEL_SHAPE',
  'KERNEL_LIMIT',
  'KERNEL_TIMEOUT',
  'KERNEL_ABORTED',
  'KERNEL_WORKERS_WEDGED',
  'KERNEL_COMPILE',
  'KERNEL_EXECUTION',
] as const
/** What went wrong running a kernel; contributors report it with a task's `task-error`. */
export type KernelErrorCode = (typeof KERNEL_ERROR_CODES)[number]

/** Why a `.npy` file cannot be read or written (see `NpyError`). */
export const NPY_ERROR_CODES = [
  'MALFORMED_NPY',
  'UNSUPPORTED_DTYPE',
  'UNSUPPORTED_ORDER',
  'SHAPE_MISMATCH',
] as const
/** Why a `.npy` file cannot be read or written. */
export type NpyErrorCode = (typeof NPY_ERROR_CODES)[number]

/** Why a model directory (`config.json`, safetensors, index) cannot be used (see `ModelFormatError`). */
export const MODEL_FORMAT_ERROR_CODES = [
  /** `config.json` is not a JSON object, or a field has the wrong type. */
  'INVALID_CONFIG',
  /** `model_type` names an architecture Tabswarm does not run. */
  'UNSUPPORTED_FAMILY',
  /** The family is known but an option it sets (rope scaling, sliding window, biases...) is not. */
  'UNSUPPORTED_OPTION',
  /** A size (layers, vocabulary, header length...) is past Tabswarm's cap. */
  'LIMIT_EXCEEDED',
  /** The safetensors header is not the 8-byte length plus a JSON object it must be. */
  'MALFORMED_HEADER',
  /** A tensor's dtype is not one Tabswarm reads. */
  'UNSUPPORTED_DTYPE',
  /** A tensor's byte range is out of the file, overlaps another, or leaves a gap. */
  'BAD_TENSOR_RANGE',
  /** A tensor's byte length is not its shape times its dtype's size. */
  'SIZE_MISMATCH',
  /** A tensor name appears twice (in a header or across an index's files). */
  'DUPLICATE_TENSOR',
  /** A tensor the architecture needs is absent. */
  'MISSING_TENSOR',
  /** A tensor the architecture does not use is present. */
  'UNEXPECTED_TENSOR',
  /** A tensor has a shape other than the architecture's. */
  'SHAPE_MISMATCH',
] as const
/** Why a model directory cannot be used. */
export type ModelFormatErrorCode = (typeof MODEL_FORMAT_ERROR_CODES)[number]

/**
 * The HTTP API's error codes and the status each is answered with. Clients match on the
 * code of `{ error: { code, message } }`; an unknown code is a 500.
 */
export const API_ERROR_STATUS = {
  BAD_REQUEST: 400,
  INVALID_BODY: 400,
  INVALID_QUERY: 400,
  INVALID_ID: 400,
  BAD_HASH: 400,
  INVALID_AMOUNT: 400,
  BODY_HASH_MISMATCH: 400,
  AUTH_REQUIRED: 401,
  INVALID_API_KEY: 401,
  INVALID_SIGNATURE: 401,
  SIGNATURE_EXPIRED: 401,
  SIGNATURE_REPLAYED: 401,
  SIGNATURE_OUTDATED: 401,
  WRONG_RELAY: 401,
  SESSION_EXPIRED: 401,
  INVALID_SESSION: 401,
  FORBIDDEN: 403,
  NOT_OWNER: 403,
  CONTRIBUTOR_BANNED: 403,
  NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  BLOB_NOT_FOUND: 404,
  ACCOUNT_NOT_FOUND: 404,
  SETTLEMENT_DISABLED: 404,
  EPOCH_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  JOB_NOT_COMPLETE: 409,
  JOB_FINISHED: 409,
  NOTHING_TO_CLAIM: 409,
  NOTHING_TO_SETTLE: 409,
  EPOCH_PENDING: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_JOB: 422,
  INSUFFICIENT_CREDITS: 402,
  RATE_LIMITED: 429,
  UPLOADS_BUSY: 429,
  AUTH_BUSY: 503,
  RELAY_BUSY: 503,
  CANCEL_PENDING: 503,
  POST_REVERTED: 502,
  SETTLEMENT_UNAVAILABLE: 503,
  UNDERFUNDED: 503,
  STORE_FULL: 507,
} as const satisfies Record<string, number>
/** A code of the HTTP API's error answers. */
export type ApiErrorCode = keyof typeof API_ERROR_STATUS

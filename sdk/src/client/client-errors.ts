import { type ApiErrorCode, type JobView, TabswarmError } from '@tabswarm/protocol'

/** The relay could not be reached at all (refused, DNS, timeout before any response). */
export class RelayUnreachableError extends TabswarmError {
  override name = 'RelayUnreachableError' as const
  constructor(url: string, cause: unknown) {
    // fetch wraps the socket's error (ECONNREFUSED, ENOTFOUND) in a TypeError; a WebSocket
    // dial can fail with a bare ErrorEvent that says nothing.
    const err = cause as {
      cause?: { code?: unknown }
      code?: unknown
      message?: unknown
      name?: unknown
    }
    const reason =
      [err?.cause?.code, err?.code, err?.message, err?.name].find(
        (part): part is string => typeof part === 'string' && part !== '',
      ) ?? (String(cause).startsWith('[object') ? 'connection failed' : String(cause))
    super(`cannot reach the relay at ${url} (${reason})`, { code: 'RELAY_UNREACHABLE', cause })
  }
}

/** The relay answered with an error; `code` is the API's machine-readable code. */
export class ApiRequestError extends TabswarmError {
  override name = 'ApiRequestError' as const
  /**
   * The API's code (`@tabswarm/protocol`'s `ApiErrorCode`), `INTERNAL` or `HTTP_ERROR`, or
   * one this build does not know yet (a newer relay), kept as sent.
   */
  declare readonly code: ApiErrorCode | 'INTERNAL' | 'HTTP_ERROR' | (string & {})
  readonly status: number
  /** Seconds to wait before retrying, when the relay said so (HTTP 429 and 503). */
  readonly retryAfterSeconds: number | undefined
  constructor(status: number, code: string, message: string, retryAfter?: string | null) {
    super(message, { code })
    this.status = status
    const seconds = retryAfter == null ? Number.NaN : Number(retryAfter)
    this.retryAfterSeconds = Number.isFinite(seconds) ? seconds : undefined
  }
}

/** A job ended without a product: it failed or was cancelled. */
export class JobFailedError extends TabswarmError {
  override name = 'JobFailedError' as const
  readonly jobId: string
  constructor(jobId: string, status: string, reason?: string) {
    super(`job ${jobId} ${status}${reason ? `: ${reason}` : ''}`, {
      code: status === 'cancelled' ? 'JOB_CANCELLED' : 'JOB_FAILED',
    })
    this.jobId = jobId
  }
}

/** A blob the relay served does not match the sha-256 it is named by, or the size its shape needs. */
export class BlobIntegrityError extends TabswarmError {
  override name = 'BlobIntegrityError' as const
  readonly blob: string
  constructor(blob: string, problem: string) {
    super(`blob ${blob} ${problem}`, { code: 'BLOB_INTEGRITY' })
    this.blob = blob
  }
}

/**
 * The relay answered with success but broke the API's contract (a missing field, a product
 * of the wrong size, an event stream without a body): a fault of the relay, not of the input.
 */
export class RelayResponseError extends TabswarmError {
  override name = 'RelayResponseError' as const
  constructor(message: string) {
    super(message, { code: 'BAD_RESPONSE' })
  }
}

/** Input rejected before anything was sent. */
export class InvalidInputError extends TabswarmError {
  override name = 'InvalidInputError' as const
  constructor(message: string) {
    super(message, { code: 'INVALID_INPUT' })
  }
}

/**
 * A wait that was aborted (the caller's signal, or its timeout) after the job was submitted:
 * the job was cancelled on the relay, and `job` is its state after that, so a caller can say
 * what was refunded. `job.status` is `cancelled`, or `completed`/`failed` when the job ended
 * before the cancel reached the relay (nothing was cancelled then); `job` is undefined when
 * the relay could not be asked. `cause` is the signal's reason; the message starts with it.
 */
export class JobAbortedError extends TabswarmError {
  override name = 'JobAbortedError' as const
  readonly jobId: string
  readonly job: JobView | undefined
  constructor(jobId: string, reason: unknown, job: JobView | undefined) {
    const why = reason instanceof Error ? reason.message : String(reason)
    const what =
      job == null
        ? `job ${jobId} may still be running (the relay could not be asked to cancel it)`
        : job.status === 'cancelled'
          ? `job ${jobId} cancelled`
          : `job ${jobId} had already ${job.status}`
    super(`${why}; ${what}`, { code: 'JOB_ABORTED', cause: reason })
    this.jobId = jobId
    this.job = job
  }
}

import { TabswarmError } from '@tabswarm/worker-kernels'

/** The relay could not be reached at all (refused, DNS, timeout before any response). */
export class RelayUnreachableError extends TabswarmError {
  override name = 'RelayUnreachableError' as const
  constructor(url: string, cause: unknown) {
    const reason =
      (cause as { cause?: { code?: string } })?.cause?.code ??
      (cause as Error)?.message ??
      String(cause)
    super(`cannot reach the relay at ${url} (${reason})`, { code: 'RELAY_UNREACHABLE', cause })
  }
}

/** The relay answered with an error; `code` is the API's machine-readable code. */
export class ApiRequestError extends TabswarmError {
  override name = 'ApiRequestError' as const
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

/** Input rejected before anything was sent. */
export class InvalidInputError extends TabswarmError {
  override name = 'InvalidInputError' as const
  constructor(message: string) {
    super(message, { code: 'INVALID_INPUT' })
  }
}

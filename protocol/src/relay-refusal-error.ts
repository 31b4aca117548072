import type { RelayRefusalCode } from './error-codes.ts'
import { TabswarmError } from './tabswarm-error.ts'

/**
 * Refusal codes after which asking again cannot help: the relay refuses this contributor
 * itself, not one request. A contributor stops on them instead of retrying.
 */
const PERMANENT_CODES: ReadonlySet<string> = new Set<RelayRefusalCode>(['CONTRIBUTOR_BANNED'])

/**
 * Refusal codes that judge the request's own bytes (too large for what it answers, a hash
 * that does not match, a header that does not validate): the same request gets the same
 * answer, so sending it again cannot help. Not `MALFORMED_FRAME`: a stream cut mid-message
 * reads as one, and that is the connection's doing.
 */
const MALFORMED_CODES: ReadonlySet<string> = new Set<RelayRefusalCode>([
  'MESSAGE_TOO_LARGE',
  'PAYLOAD_MISMATCH',
  'INVALID_MESSAGE',
])

const PERMANENT_DETAILS =
  'The relay will refuse this contributor whatever it sends, so it stops here. A ban follows faulty results: fix the cause, and ask the relay operator if it is a mistake.'

/**
 * A hello the relay cannot read is refused again on every retry: this build and the relay
 * disagree on the work protocol's messages, or the wallet proof is wrong.
 */
const HELLO_REFUSED_DETAILS =
  'The relay cannot accept this contributor’s hello, and would refuse it again on every retry, so it stops here. Either this build and the relay disagree on the work protocol’s messages (update @tabswarm/sdk to the relay’s version; in a tab, reload the page), or its wallet proof is refused (the reason says why; a proof too far from the relay’s time means this machine’s clock is wrong).'

export interface RelayRefusalOptions {
  /**
   * Whether retrying cannot help. @default from the code and request: a ban, or a hello
   * the relay cannot read (`INVALID_MESSAGE`)
   */
  permanent?: boolean
  /** Longer explanation appended to the message. @default one for permanent refusals */
  details?: string
  cause?: unknown
}

/**
 * The relay answered a work request with an `error` message: it understood the request and
 * refused it. `code` is the relay's own (`CONTRIBUTOR_BANNED`, `MESSAGE_TOO_LARGE`, ...), so
 * callers match on it; `request` names what was refused. A refusal in the protocol
 * negotiation (`WORK_PROTOCOL_UNSUPPORTED`, the relay does not speak this build's work
 * protocol) is one too, though no message carried it.
 *
 * @example
 * catch (err) { if (err instanceof RelayRefusalError && err.permanent) stop(err.message) }
 */
export class RelayRefusalError extends TabswarmError {
  override name = 'RelayRefusalError' as const
  /**
   * The relay's code: a `RelayRefusalCode`, or one this build does not know yet (a newer
   * relay), kept as sent.
   */
  declare readonly code: RelayRefusalCode | (string & {})
  /** The type of the request the relay refused, e.g. `hello`. */
  readonly request: string
  /** True when retrying cannot help (a ban, an unreadable hello): stop and say why. */
  readonly permanent: boolean

  constructor(
    request: string,
    code: RelayRefusalCode | (string & {}),
    message: string,
    options: RelayRefusalOptions = {},
  ) {
    const permanent =
      options.permanent ??
      (PERMANENT_CODES.has(code) || (request === 'hello' && code === 'INVALID_MESSAGE'))
    const details =
      options.details ??
      (!permanent
        ? undefined
        : PERMANENT_CODES.has(code)
          ? PERMANENT_DETAILS
          : request === 'hello'
            ? HELLO_REFUSED_DETAILS
            : undefined)
    super(`The relay refused ${request}: ${code}: ${message}`, {
      code,
      ...(details != null ? { details } : {}),
      ...('cause' in options ? { cause: options.cause } : {}),
    })
    this.request = request
    this.permanent = permanent
  }

  /**
   * True when the relay refused the request's own bytes (`MESSAGE_TOO_LARGE`,
   * `PAYLOAD_MISMATCH`, `INVALID_MESSAGE`): the same request would be refused again, so a
   * refused result is final for its task, not a relay error to retry.
   */
  get malformed(): boolean {
    return MALFORMED_CODES.has(this.code)
  }
}

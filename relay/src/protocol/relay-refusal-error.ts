import { TabswarmError } from '@tabswarm/worker-kernels'

/**
 * Refusal codes after which asking again cannot help: the relay refuses this contributor
 * itself, not one request. A contributor stops on them instead of retrying.
 */
const PERMANENT_CODES: ReadonlySet<string> = new Set(['CONTRIBUTOR_BANNED'])

/**
 * The relay answered a work request with an `error` message: it understood the request and
 * refused it. `code` is the relay's own (`CONTRIBUTOR_BANNED`, `MESSAGE_TOO_LARGE`, ...), so
 * callers match on it; `request` names what was refused.
 *
 * @example
 * catch (err) { if (err instanceof RelayRefusalError && err.permanent) stop(err.message) }
 */
export class RelayRefusalError extends TabswarmError {
  override name = 'RelayRefusalError' as const
  /** The type of the request the relay refused, e.g. `hello`. */
  readonly request: string

  constructor(request: string, code: string, message: string) {
    super(`The relay refused ${request}: ${code}: ${message}`, {
      code,
      ...(PERMANENT_CODES.has(code)
        ? {
            details:
              'The relay will refuse this contributor whatever it sends, so it stops here. A ban follows faulty results: fix the cause, and ask the relay operator if it is a mistake.',
          }
        : {}),
    })
    this.request = request
  }

  /** True when retrying cannot help (a ban): the contributor should stop and say why. */
  get permanent(): boolean {
    return PERMANENT_CODES.has(this.code)
  }
}

import { MAX_REQUEST_RETRIES, MAX_RETRY_WAIT_MS } from '../constants.ts'
import { ApiRequestError, RelayUnreachableError } from './client-errors.ts'
import { delay } from './delay.ts'

/** Adds credentials to a request: an API key header, or a wallet signature. */
export type Authenticate = ((request: AuthenticateRequest) => Promise<Record<string, string>>) & {
  /**
   * Told when the relay refused the credentials this gave (HTTP 401, with its `code`).
   * Returns true when fresh credentials may succeed (a session that expired): the request
   * is then sent once more, authenticated again. Optional.
   */
  refused?: (code: string) => boolean
}

/** What an `Authenticate` is told of the request it gives credentials for. */
export interface AuthenticateRequest {
  method: string
  path: string
  body: Uint8Array | undefined
  /**
   * Hex sha-256 of a body sent as a `Blob` (a file streamed from disk), which is not in
   * `body`: what a signature names instead of hashing the bytes itself.
   */
  bodySha256?: string | undefined
  /**
   * The libp2p peer id of the relay the request goes to (from its `GET /v1/swarm`, asked
   * once and kept), which a wallet signature names so it is valid at that relay only.
   */
  relayPeerId: () => Promise<string>
  signal?: AbortSignal | undefined
  /** The relay's base URL and the client's `fetch`, for credentials that ask the relay first (sessions). */
  base?: string
  fetch?: typeof fetch
}

export interface TransportOptions {
  /** Base URL of the relay, without a trailing slash. */
  base: string
  fetch: typeof fetch
  requestTimeoutMs: number
  authenticate?: Authenticate
}

export interface RequestOptions {
  method?: string
  /**
   * JSON-serialisable value, or raw bytes, or a `Blob` (in Node, `fs.openAsBlob(path)`):
   * streamed as it is sent, never read whole into memory here.
   */
  body?: unknown
  /** Hex sha-256 of a `Blob` body, for credentials that sign the body (a wallet). */
  bodySha256?: string
  headers?: Record<string, string>
  signal?: AbortSignal | undefined
  /** Per-request timeout, body included; `null` for long-lived streams. @default the client's */
  timeoutMs?: number | null
  /**
   * How long to wait for the response headers alone; the body is not bound by it. A stream
   * (`timeoutMs: null`) gets one too, so a relay that accepts the connection and never
   * answers is not waited on forever. @default the client's, when `timeoutMs` is `null`
   */
  headersTimeoutMs?: number
}

/** Answers that say "not now": the relay refused before doing anything, so a retry is safe. */
const RETRYABLE = new Set([429, 503])

/**
 * The one place HTTP happens: base URL, credentials, timeouts and cancellation, and the
 * API's `{ error: { code, message } }` answers turned into `ApiRequestError`s.
 */
export interface Transport {
  readonly base: string
  request(path: string, options?: RequestOptions): Promise<Response>
  json<T>(path: string, options?: RequestOptions): Promise<T>
}

const encoder = new TextEncoder()

/** The transport a client's calls go through; `createClient` builds one from its options. */
export function createTransport(options: TransportOptions): Transport {
  const { base } = options

  let peerId: Promise<string> | undefined
  /** The relay's peer id, asked once; forgotten when asking failed or the relay says it changed. */
  function relayPeerId(signal: AbortSignal | undefined): Promise<string> {
    peerId ??= askPeerId(signal).catch((err) => {
      peerId = undefined
      throw err
    })
    return peerId
  }
  async function askPeerId(signal: AbortSignal | undefined): Promise<string> {
    const timeout = AbortSignal.timeout(options.requestTimeoutMs)
    let response: Response
    try {
      response = await options.fetch(`${base}/v1/swarm`, {
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      throw new RelayUnreachableError(base, err)
    }
    const answer = (await response.json().catch(() => ({}))) as { peerId?: unknown }
    if (!response.ok || typeof answer.peerId !== 'string')
      throw new ApiRequestError(
        response.status,
        'NO_RELAY_ID',
        `GET /v1/swarm did not answer the relay's peer id (HTTP ${response.status}), which wallet signatures must name; is ${base} a Tabswarm relay?`,
        null,
      )
    return answer.peerId
  }

  async function request(path: string, init: RequestOptions = {}): Promise<Response> {
    let reauthenticated = false
    for (let attempt = 0; ; attempt++) {
      try {
        return await attemptRequest(path, init)
      } catch (err) {
        // The relay's identity changed (a new data directory behind the same URL): ask again, once.
        if (err instanceof ApiRequestError && err.code === 'WRONG_RELAY' && attempt === 0) {
          peerId = undefined
          continue
        }
        // Credentials that went stale (an expired session): renewed, and the request sent again, once.
        if (
          err instanceof ApiRequestError &&
          err.status === 401 &&
          !reauthenticated &&
          options.authenticate?.refused?.(err.code) === true
        ) {
          reauthenticated = true
          continue
        }
        const retryable =
          err instanceof ApiRequestError &&
          RETRYABLE.has(err.status) &&
          attempt < MAX_REQUEST_RETRIES
        if (!retryable) throw err
        // Honour Retry-After; without one, back off exponentially from half a second.
        const waitMs = Math.min(
          MAX_RETRY_WAIT_MS,
          err.retryAfterSeconds != null ? err.retryAfterSeconds * 1000 : 500 * 2 ** attempt,
        )
        await delay(waitMs, init.signal)
      }
    }
  }

  async function attemptRequest(path: string, init: RequestOptions): Promise<Response> {
    const method = init.method ?? 'GET'
    const headers: Record<string, string> = { ...init.headers }
    let body: Uint8Array | undefined
    let blob: Blob | undefined
    if (init.body instanceof Uint8Array) {
      body = init.body
      headers['content-type'] ??= 'application/octet-stream'
    } else if (typeof Blob !== 'undefined' && init.body instanceof Blob) {
      blob = init.body
      headers['content-type'] ??= 'application/octet-stream'
    } else if (init.body !== undefined) {
      body = encoder.encode(JSON.stringify(init.body))
      headers['content-type'] = 'application/json'
    }
    // Signed afresh on every attempt: a wallet signature's nonce must not repeat.
    if (options.authenticate)
      Object.assign(
        headers,
        await options.authenticate({
          method,
          path: `/v1${path}`,
          body,
          ...(init.bodySha256 != null ? { bodySha256: init.bodySha256 } : {}),
          relayPeerId: () => relayPeerId(init.signal),
          signal: init.signal,
          base,
          fetch: options.fetch,
        }),
      )

    // The timeout starts once the credentials are in: a wallet session's first request waits
    // for the wallet's owner to sign, which is bound by the caller's signal, not by this.
    const signals: AbortSignal[] = init.signal ? [init.signal] : []
    if (init.timeoutMs !== null)
      signals.push(AbortSignal.timeout(init.timeoutMs ?? options.requestTimeoutMs))
    const headersTimeoutMs =
      init.headersTimeoutMs ?? (init.timeoutMs === null ? options.requestTimeoutMs : undefined)
    // Its own controller, not AbortSignal.timeout: the deadline is lifted once the headers
    // are in, so a stream that answered may then run as long as it likes.
    const headersDeadline = new AbortController()
    const headersTimer =
      headersTimeoutMs != null
        ? setTimeout(
            () =>
              headersDeadline.abort(
                new DOMException(
                  `no response headers within ${headersTimeoutMs} ms`,
                  'TimeoutError',
                ),
              ),
            headersTimeoutMs,
          )
        : undefined
    if (headersTimer != null) signals.push(headersDeadline.signal)
    let response: Response
    try {
      response = await options.fetch(`${base}/v1${path}`, {
        method,
        headers,
        ...(body ? { body: body as Uint8Array<ArrayBuffer> } : blob ? { body: blob } : {}),
        signal: signals.length > 0 ? AbortSignal.any(signals) : null,
      })
    } catch (err) {
      if (init.signal?.aborted) throw init.signal.reason
      throw new RelayUnreachableError(base, err)
    } finally {
      clearTimeout(headersTimer)
    }
    if (!response.ok) {
      const answer = (await response.json().catch(() => ({}))) as {
        error?: { code?: string; message?: string }
      }
      throw new ApiRequestError(
        response.status,
        answer.error?.code ?? 'HTTP_ERROR',
        answer.error?.message ?? `${method} ${path} failed with HTTP ${response.status}`,
        response.headers.get('retry-after'),
      )
    }
    return response
  }

  return {
    base,
    request,
    json: async <T>(path: string, init?: RequestOptions) =>
      (await request(path, init)).json() as Promise<T>,
  }
}

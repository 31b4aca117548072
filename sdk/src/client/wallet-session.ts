import {
  type OpenSessionBody,
  type WalletSessionView,
  WalletSessionViewSchema,
} from '@tabswarm/protocol'
import { ApiRequestError, RelayUnreachableError } from './client-errors.ts'
import type { Authenticate, AuthenticateRequest } from './http-transport.ts'
import { type WalletAuthOptions, type WalletSigner, walletAuth } from './wallet-auth.ts'

export interface WalletSessionOptions extends WalletAuthOptions {
  /**
   * How long the session lasts, ms: 1 minute to 24 hours (the relay's cap).
   * @default the relay's default, 12 hours
   */
  ttlMs?: number
  /** Opened afresh this long before it expires, so no request meets the expiry. @default 60_000 */
  renewBeforeMs?: number
  /** Longest wait for the relay to open a session. @default 30_000 */
  timeoutMs?: number
  /**
   * A session opened earlier for this wallet (kept by the caller: a page's
   * `sessionStorage`), used until it nears its expiry or the relay refuses it, so a page
   * reload does not ask the wallet to sign again. Ignored when it is for another account.
   */
  session?: WalletSessionView | undefined
  /**
   * Told each time the session in use changes: the new one when one is opened (renewals
   * included), `undefined` when it ends (`close`, refused by the relay, expired). For
   * keeping it where `session` can resume it; the token is a bearer credential: keep it
   * where an API key would be kept, never in a URL.
   */
  onSession?: ((session: WalletSessionView | undefined) => void) | undefined
}

/** The `Authenticate` of `walletSession`, with the session it holds. */
export type WalletSession = Authenticate & {
  /** The session in use: once the first request opened it, or the one resumed. */
  readonly current: WalletSessionView | undefined
  /**
   * Ends the session at the relay (`DELETE /v1/sessions/current`, at the relay of the
   * latest request); the next request opens a new one.
   */
  close(signal?: AbortSignal): Promise<void>
}

/** Codes of a refused session token: a new session may succeed. */
const STALE = new Set(['SESSION_EXPIRED', 'INVALID_SESSION'])

/**
 * Wallet credentials that ask the wallet to sign once, not on every request: the first
 * request signs `POST /v1/sessions` with `signer` and gets a bearer token for that wallet
 * (12 hours by default), which every request then carries like an API key. The session is
 * opened again shortly before it expires, and once when the relay refuses it (expired,
 * revoked). For a browser wallet (EIP-1193, e.g. MetaMask), where each signature is a prompt.
 * A page keeps the session across reloads with `onSession` and resumes it with `session`.
 *
 * @example
 * // A browser wallet: one prompt for the whole dashboard session.
 * import { createWalletClient, custom } from 'viem'
 * const [address] = await window.ethereum.request({ method: 'eth_requestAccounts' })
 * const wallet = createWalletClient({ account: address, transport: custom(window.ethereum) })
 * const signer = {
 *   address,
 *   signTypedData: (typed) => wallet.signTypedData({ account: address, ...typed }),
 * }
 * const client = createClient({ relay, authenticate: walletSession(signer) })
 *
 * @example
 * // A key in hand (scripts, tests): any viem Account is a signer.
 * const client = createClient({ relay, authenticate: walletSession(privateKeyToAccount(key)) })
 *
 * @example
 * // A page that keeps its session across reloads, for this tab only.
 * const saved = JSON.parse(sessionStorage.getItem('session') ?? 'null') ?? undefined
 * const session = walletSession(signer, {
 *   session: saved,
 *   onSession: (s) => (s ? sessionStorage.setItem('session', JSON.stringify(s)) : sessionStorage.removeItem('session')),
 * })
 * // Sign-out: the token stops working at once.
 * await session.close()
 */
export function walletSession(
  signer: WalletSigner,
  options: WalletSessionOptions = {},
): WalletSession {
  const sign = walletAuth(signer, options)
  const renewBeforeMs = options.renewBeforeMs ?? 60_000
  const timeoutMs = options.timeoutMs ?? 30_000
  let opening: Promise<WalletSessionView> | undefined
  let current: WalletSessionView | undefined
  let relay: { base: string; fetch: typeof fetch } | undefined

  /** Sets the session in use, telling `onSession` when it changed. */
  function use(session: WalletSessionView | undefined): void {
    if (session === current) return
    current = session
    options.onSession?.(session)
  }
  // A resumed session is taken as it is: the relay judges the token at the first request.
  if (options.session?.account.toLowerCase() === signer.address.toLowerCase())
    current = options.session

  async function open(request: AuthenticateRequest): Promise<WalletSessionView> {
    if (request.base == null || request.fetch == null)
      throw new TypeError(
        'walletSession needs the client to tell it the relay (base and fetch): use it with createClient of this SDK',
      )
    relay = { base: request.base, fetch: request.fetch }
    const body: OpenSessionBody = options.ttlMs != null ? { ttlMs: options.ttlMs } : {}
    const bytes = new TextEncoder().encode(JSON.stringify(body))
    const headers = await sign({
      method: 'POST',
      path: '/v1/sessions',
      body: bytes,
      relayPeerId: request.relayPeerId,
      signal: request.signal,
    })
    const timeout = AbortSignal.timeout(timeoutMs)
    let response: Response
    try {
      response = await request.fetch(`${request.base}/v1/sessions`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: bytes as Uint8Array<ArrayBuffer>,
        signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
      })
    } catch (err) {
      if (request.signal?.aborted) throw request.signal.reason
      throw new RelayUnreachableError(request.base, err)
    }
    const answer = (await response.json().catch(() => ({}))) as {
      error?: { code?: string; message?: string }
    }
    if (!response.ok)
      throw new ApiRequestError(
        response.status,
        answer.error?.code ?? 'HTTP_ERROR',
        `could not open a wallet session: ${answer.error?.message ?? `POST /v1/sessions failed with HTTP ${response.status}`}`,
        response.headers.get('retry-after'),
      )
    const parsed = WalletSessionViewSchema.safeParse(answer)
    if (!parsed.success)
      throw new ApiRequestError(
        response.status,
        'HTTP_ERROR',
        `POST /v1/sessions answered no session (${parsed.error.issues[0]?.message}); is ${request.base} a Tabswarm relay of this version?`,
      )
    return parsed.data
  }

  const authenticate = (async (request) => {
    // The session is opened by a signed request: never by itself.
    if (request.method === 'POST' && request.path === '/v1/sessions') return sign(request)
    if (request.base != null && request.fetch != null)
      relay = { base: request.base, fetch: request.fetch }
    if (current != null && current.expiresAt - Date.now() <= renewBeforeMs) use(undefined)
    let session = current
    if (session == null) {
      // One opening at a time, shared by the requests that wait for it: one signature.
      opening ??= open(request)
        .then((opened) => {
          use(opened)
          return opened
        })
        .finally(() => {
          opening = undefined
        })
      session = await opening
    }
    return { authorization: `Bearer ${session.token}` }
  }) as WalletSession

  Object.defineProperty(authenticate, 'current', { get: () => current })
  authenticate.refused = (code) => {
    if (!STALE.has(code)) return false
    use(undefined)
    return true
  }
  authenticate.close = async (signal) => {
    const session = current
    use(undefined)
    if (session == null || relay == null) return
    const timeout = AbortSignal.timeout(timeoutMs)
    let response: Response
    try {
      response = await relay.fetch(`${relay.base}/v1/sessions/current`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${session.token}` },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      throw new RelayUnreachableError(relay.base, err)
    }
    // Already over (expired, or ended elsewhere): what was asked for holds.
    if (!response.ok && response.status !== 401)
      throw new ApiRequestError(
        response.status,
        'HTTP_ERROR',
        `DELETE /v1/sessions/current failed with HTTP ${response.status}`,
      )
  }
  return authenticate
}

/** Who made a request, as decided by the authentication middleware. */
export interface Principal {
  /** Owner of the jobs this caller submits: an account name or a checksummed wallet address. */
  account: string
  /**
   * How it proved it: an API key, a wallet signature on this request, the token of a wallet
   * session (opened with one signature; the account is that wallet), or nothing (the open
   * relay's local user).
   */
  via: 'api-key' | 'wallet' | 'wallet-session' | 'local'
}

/** Hono environment of the API: what the middlewares leave on the context for handlers. */
export interface ApiEnv {
  Variables: {
    /** Echoed in `x-request-id` and on every log line of the request. */
    requestId: string
    /** The caller's address, from the socket (or `X-Forwarded-For` behind a trusted proxy). */
    clientIp: string
    /** Set on authenticated routes. */
    principal: Principal
  }
}

/**
 * Wallet authentication of HTTP API requests: what a researcher's wallet signs (EIP-712
 * typed data) and the headers that carry it. Browser-safe; the relay verifies exactly what
 * the SDK signs, so both import this module.
 *
 * A signed request carries four headers:
 * - `x-tabswarm-address`: the wallet address (`0x` + 40 hex);
 * - `x-tabswarm-timestamp`: milliseconds since the epoch when it was signed;
 * - `x-tabswarm-nonce`: 8 to 64 characters of `[A-Za-z0-9_-]`, fresh for every request;
 * - `x-tabswarm-signature`: the EIP-712 signature of {@link apiRequestTypedData}.
 */

/** Header names of a wallet-signed request (lower case, as the Fetch API reports them). */
export const WALLET_AUTH_HEADERS = {
  address: 'x-tabswarm-address',
  timestamp: 'x-tabswarm-timestamp',
  nonce: 'x-tabswarm-nonce',
  signature: 'x-tabswarm-signature',
} as const

/** How far a signed request's timestamp may be from the relay's clock. */
export const WALLET_AUTH_MAX_SKEW_MS = 5 * 60_000

export const API_AUTH_DOMAIN = { name: 'Tabswarm API', version: '1' } as const

export const API_AUTH_TYPES = {
  Request: [
    { name: 'method', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'bodySha256', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'nonce', type: 'string' },
  ],
} as const

/** sha-256 of the empty body, for requests without one. */
export const EMPTY_BODY_SHA256 =
  '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' as const

export interface ApiRequestToSign {
  /** Upper-case HTTP method, e.g. `POST`. */
  method: string
  /** Path and query exactly as sent, e.g. `/v1/jobs?status=running`. */
  path: string
  /** `0x` + hex sha-256 of the raw body bytes; {@link EMPTY_BODY_SHA256} when there is none. */
  bodySha256: `0x${string}`
  /** Milliseconds since the epoch. */
  timestamp: bigint
  nonce: string
}

/**
 * The typed data a wallet signs for one API request; pass it to viem's `signTypedData`
 * (or any EIP-712 signer) and send the result in `x-tabswarm-signature`.
 *
 * @example
 * const signature = await account.signTypedData(apiRequestTypedData({
 *   method: 'POST', path: '/v1/jobs', bodySha256: `0x${await sha256Hex(body)}`,
 *   timestamp: BigInt(Date.now()), nonce: crypto.randomUUID(),
 * }))
 */
export function apiRequestTypedData(request: ApiRequestToSign) {
  return {
    domain: API_AUTH_DOMAIN,
    types: API_AUTH_TYPES,
    primaryType: 'Request' as const,
    message: {
      method: request.method.toUpperCase(),
      path: request.path,
      bodySha256: request.bodySha256,
      timestamp: request.timestamp,
      nonce: request.nonce,
    },
  }
}

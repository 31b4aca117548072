/**
 * Wallet authentication of HTTP API requests: what a researcher's wallet signs (EIP-712
 * typed data) and the headers that carry it. Browser-safe; the relay verifies exactly what
 * the SDK signs, so both import this module.
 *
 * A signed request carries six headers:
 * - `x-tabswarm-address`: the wallet address (`0x` + 40 hex);
 * - `x-tabswarm-timestamp`: milliseconds since the epoch when it was signed;
 * - `x-tabswarm-nonce`: 8 to 64 characters of `[A-Za-z0-9_-]`, fresh for every request;
 * - `x-tabswarm-relay`: the libp2p peer id of the relay it is meant for (`GET /v1/swarm`'s
 *   `peerId`), so it cannot be replayed to another relay;
 * - `x-tabswarm-content-sha256`: `0x` + hex sha-256 of the body, so the relay can check the
 *   signature before it reads a byte of the body, and the body while it streams in;
 * - `x-tabswarm-signature`: the EIP-712 signature of {@link apiRequestTypedData}.
 *
 * Version 1 signatures (no relay, no content-sha256 header) are refused with
 * `SIGNATURE_OUTDATED`: they could be replayed to any relay.
 */

/** Header names of a wallet-signed request (lower case, as the Fetch API reports them). */
export const WALLET_AUTH_HEADERS = {
  address: 'x-tabswarm-address',
  timestamp: 'x-tabswarm-timestamp',
  nonce: 'x-tabswarm-nonce',
  relay: 'x-tabswarm-relay',
  contentSha256: 'x-tabswarm-content-sha256',
  signature: 'x-tabswarm-signature',
} as const

/** How far a signed request's timestamp may be from the relay's clock. */
export const WALLET_AUTH_MAX_SKEW_MS = 5 * 60_000

/** Version 2 binds the relay's peer id; a version 1 signature never verifies against it. */
export const API_AUTH_DOMAIN = { name: 'Tabswarm API', version: '2' } as const

export const API_AUTH_TYPES = {
  Request: [
    { name: 'method', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'bodySha256', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'nonce', type: 'string' },
    { name: 'relay', type: 'string' },
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
  /** The libp2p peer id of the relay the request is for (`GET /v1/swarm` answers it). */
  relay: string
}

/**
 * The typed data a wallet signs for one API request; pass it to viem's `signTypedData`
 * (or any EIP-712 signer) and send the result in `x-tabswarm-signature`, with the other
 * headers from {@link walletRequestHeaders}.
 *
 * @example
 * const typed = apiRequestTypedData({
 *   method: 'POST', path: '/v1/jobs', bodySha256: `0x${await sha256Hex(body)}`,
 *   timestamp: BigInt(Date.now()), nonce: crypto.randomUUID(), relay: swarm.peerId,
 * })
 * const headers = walletRequestHeaders(account.address, typed.message, await account.signTypedData(typed))
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
      relay: request.relay,
    },
  }
}

/** The headers that carry a signed request: what the relay reads before any body byte. */
export function walletRequestHeaders(
  address: `0x${string}`,
  signed: ApiRequestToSign,
  signature: `0x${string}`,
): Record<string, string> {
  return {
    [WALLET_AUTH_HEADERS.address]: address,
    [WALLET_AUTH_HEADERS.timestamp]: String(signed.timestamp),
    [WALLET_AUTH_HEADERS.nonce]: signed.nonce,
    [WALLET_AUTH_HEADERS.relay]: signed.relay,
    [WALLET_AUTH_HEADERS.contentSha256]: signed.bodySha256,
    [WALLET_AUTH_HEADERS.signature]: signature,
  }
}

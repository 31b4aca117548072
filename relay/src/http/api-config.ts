import { MAX_BLOB_BYTES } from '@tabswarm/protocol'
import { STREAM_PUT_IDLE_MS, STREAM_PUT_TIMEOUT_MS } from '../blobs/read-chunks.ts'
import { type IntegerRange, integerSetting } from '../integer-setting.ts'
import { LOG_LEVELS, type LogLevel } from '../log.ts'
import { parseApiKeysEnv } from './auth/api-keys.ts'
import { DEFAULT_UPLOADS_PER_ACCOUNT, DEFAULT_UPLOADS_TOTAL } from './upload-slots.ts'

/** How the HTTP API authenticates, limits and logs. Every field has an embedded default. */
export interface ApiConfig {
  /**
   * Hashes of researchers' API keys, from `TABSWARM_API_KEYS` (`account:key,...`); keys in
   * `<dataDir>/api-keys.json` are added at start. None, on a loopback host, means the API is
   * open to local callers as the account `local`.
   * @default []
   */
  apiKeys: Array<{ account: string; sha256: string }>
  /** Start without keys on a public host, taking wallet signatures only. @default false */
  walletAuthOnly: boolean
  /** Token buckets per client address and per account; `false` turns limiting off. */
  rateLimit:
    | { ipPerSecond: number; ipBurst: number; accountPerSecond: number; accountBurst: number }
    | false
  /**
   * Trust `X-Forwarded-For` for the client address, behind one reverse proxy (`true`) or a
   * chain of that many (a number): the entry the nearest proxies appended, never one the
   * client wrote. Only behind proxies that append to it. @default false
   */
  trustProxy: boolean | number
  /**
   * Largest blob `PUT /v1/blobs` accepts: at most what the blob protocol carries to tabs
   * (`MAX_BLOB_BYTES`), so nothing is stored that tabs could never fetch.
   * @default 256 MiB
   */
  maxBlobBytes: number
  /**
   * Uploads (`PUT /v1/blobs`) received at once: `perAccount` for one account (past it, 429),
   * `total` on the whole relay (past it, 503). Each holds a socket, a file descriptor and a
   * temp file for as long as its client takes to send, so slow or hostile clients must not
   * hold them all. From `TABSWARM_UPLOADS_PER_ACCOUNT` and `TABSWARM_UPLOADS_TOTAL`;
   * `perAccount` is at most `total`.
   * @default { perAccount: 4, total: 16 }
   */
  uploads: { perAccount: number; total: number }
  /**
   * How long one upload may take to arrive in all, from `TABSWARM_UPLOAD_TIMEOUT_MS`: the
   * largest blob at the slowest link you serve must fit in it. @default 600_000 (10 minutes)
   */
  uploadTimeoutMs: number
  /**
   * How long an upload may send nothing before it is cut with 408 and its slot freed, from
   * `TABSWARM_UPLOAD_IDLE_MS`; at most `uploadTimeoutMs`. @default 30_000
   */
  uploadIdleMs: number
  /**
   * Origins whose pages may call the API from a browser (CORS), from `TABSWARM_CORS_ORIGINS`
   * (comma-separated, or `*`). None by default, even on the open loopback relay: there the
   * caller's address is its credential, and any page the user visits shares it.
   * @default []
   */
  corsOrigins: string[] | '*'
  /** @default 'info' */
  logLevel: LogLevel
}

export const defaultApiConfig: ApiConfig = {
  apiKeys: [],
  walletAuthOnly: false,
  rateLimit: { ipPerSecond: 200, ipBurst: 400, accountPerSecond: 100, accountBurst: 200 },
  trustProxy: false,
  maxBlobBytes: MAX_BLOB_BYTES,
  uploads: { perAccount: DEFAULT_UPLOADS_PER_ACCOUNT, total: DEFAULT_UPLOADS_TOTAL },
  uploadTimeoutMs: STREAM_PUT_TIMEOUT_MS,
  uploadIdleMs: STREAM_PUT_IDLE_MS,
  corsOrigins: [],
  logLevel: 'info',
}

/**
 * What the upload settings accept. At least one upload each (none would refuse every blob);
 * at least a second of time and of silence (less cuts honest clients on a busy network).
 */
export const UPLOAD_SETTING_RANGES = {
  uploadsPerAccount: { min: 1, max: 1024 },
  uploadsTotal: { min: 1, max: 4096 },
  uploadTimeoutMs: { min: 1_000, max: 86_400_000, unit: 'ms' },
  uploadIdleMs: { min: 1_000, max: 600_000, unit: 'ms' },
} as const satisfies Record<string, IntegerRange>

/**
 * The checks between upload settings, once every source (environment, flags) is applied:
 * an account's share cannot exceed the relay's, and silence cannot outlast the deadline.
 */
export function checkUploadSettings(
  config: Pick<ApiConfig, 'uploads' | 'uploadTimeoutMs' | 'uploadIdleMs'>,
): void {
  const { perAccount, total } = config.uploads
  if (perAccount > total)
    throw new Error(
      `uploads per account (${perAccount}) must be at most the relay's uploads in flight (${total}): raise TABSWARM_UPLOADS_TOTAL (--uploads-total) or lower TABSWARM_UPLOADS_PER_ACCOUNT (--uploads-per-account)`,
    )
  if (config.uploadIdleMs > config.uploadTimeoutMs)
    throw new Error(
      `the upload idle cut (${config.uploadIdleMs} ms) must be at most the upload deadline (${config.uploadTimeoutMs} ms): lower TABSWARM_UPLOAD_IDLE_MS (--upload-idle-ms) or raise TABSWARM_UPLOAD_TIMEOUT_MS (--upload-timeout-ms)`,
    )
}

function flag(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true
  if (/^(0|false|no|off)$/i.test(raw)) return false
  throw new Error(`${name} must be true or false, got "${raw}"`)
}

function rate(name: string, raw: string): number {
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`)
  return value
}

/** `*`, or origins such as `https://lab.example,http://localhost:5173`, each checked. */
function corsOrigins(raw: string): string[] | '*' {
  if (raw.trim() === '*') return '*'
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((origin) => {
      let url: URL | undefined
      try {
        url = new URL(origin)
      } catch {
        // Reported below.
      }
      if (
        url == null ||
        !/^https?:$/.test(url.protocol) ||
        url.origin !== origin.replace(/\/$/, '')
      )
        throw new Error(
          `TABSWARM_CORS_ORIGINS takes origins like https://lab.example (scheme, host, port; no path), got "${origin}"`,
        )
      return url.origin
    })
}

/**
 * Reads the API's `TABSWARM_*` variables: `TABSWARM_API_KEYS`, `TABSWARM_WALLET_AUTH_ONLY`,
 * `TABSWARM_RATE_LIMIT` (`off`, or `<ip rps>/<ip burst>,<account rps>/<account burst>`),
 * `TABSWARM_TRUST_PROXY`, `TABSWARM_MAX_BLOB_BYTES`, `TABSWARM_UPLOADS_PER_ACCOUNT`,
 * `TABSWARM_UPLOADS_TOTAL`, `TABSWARM_UPLOAD_TIMEOUT_MS`, `TABSWARM_UPLOAD_IDLE_MS`,
 * `TABSWARM_CORS_ORIGINS`, `TABSWARM_LOG_LEVEL`. Each is checked against its range
 * (`UPLOAD_SETTING_RANGES`); the upload settings against each other only by
 * `configFromEnv`, once the CLI's flags could still change them.
 */
export function apiConfigFromEnv(env: Record<string, string | undefined>): ApiConfig {
  const config: ApiConfig = {
    ...defaultApiConfig,
    apiKeys: [],
    uploads: { ...defaultApiConfig.uploads },
  }
  if (env.TABSWARM_API_KEYS) config.apiKeys = parseApiKeysEnv(env.TABSWARM_API_KEYS)
  if (env.TABSWARM_WALLET_AUTH_ONLY)
    config.walletAuthOnly = flag('TABSWARM_WALLET_AUTH_ONLY', env.TABSWARM_WALLET_AUTH_ONLY)
  if (env.TABSWARM_TRUST_PROXY) {
    const raw = env.TABSWARM_TRUST_PROXY.trim()
    if (/^\d+$/.test(raw)) {
      const hops = Number(raw)
      if (hops > 16)
        throw new Error(`TABSWARM_TRUST_PROXY counts proxies, at most 16, got "${raw}"`)
      config.trustProxy = hops <= 1 ? hops === 1 : hops
    } else config.trustProxy = flag('TABSWARM_TRUST_PROXY', raw)
  }
  if (env.TABSWARM_RATE_LIMIT) {
    const raw = env.TABSWARM_RATE_LIMIT.trim()
    if (/^(off|false|0)$/i.test(raw)) config.rateLimit = false
    else {
      const match = /^([^/,]+)\/([^/,]+),([^/,]+)\/([^/,]+)$/.exec(raw)
      if (match == null)
        throw new Error(
          `TABSWARM_RATE_LIMIT must be "off" or "<ip rps>/<ip burst>,<account rps>/<account burst>", got "${raw}"`,
        )
      config.rateLimit = {
        ipPerSecond: rate('TABSWARM_RATE_LIMIT ip rps', match[1]!),
        ipBurst: rate('TABSWARM_RATE_LIMIT ip burst', match[2]!),
        accountPerSecond: rate('TABSWARM_RATE_LIMIT account rps', match[3]!),
        accountBurst: rate('TABSWARM_RATE_LIMIT account burst', match[4]!),
      }
    }
  }
  if (env.TABSWARM_MAX_BLOB_BYTES) {
    const value = Number(env.TABSWARM_MAX_BLOB_BYTES)
    if (!Number.isInteger(value) || value < 1)
      throw new Error(
        `TABSWARM_MAX_BLOB_BYTES must be a positive integer, got "${env.TABSWARM_MAX_BLOB_BYTES}"`,
      )
    if (value > MAX_BLOB_BYTES)
      throw new Error(
        `TABSWARM_MAX_BLOB_BYTES must be at most ${MAX_BLOB_BYTES} (the largest blob tabs can fetch), got ${value}`,
      )
    config.maxBlobBytes = value
  }
  const ranges = UPLOAD_SETTING_RANGES
  if (env.TABSWARM_UPLOADS_PER_ACCOUNT)
    config.uploads.perAccount = integerSetting(
      'TABSWARM_UPLOADS_PER_ACCOUNT',
      env.TABSWARM_UPLOADS_PER_ACCOUNT,
      ranges.uploadsPerAccount,
    )
  if (env.TABSWARM_UPLOADS_TOTAL)
    config.uploads.total = integerSetting(
      'TABSWARM_UPLOADS_TOTAL',
      env.TABSWARM_UPLOADS_TOTAL,
      ranges.uploadsTotal,
    )
  if (env.TABSWARM_UPLOAD_TIMEOUT_MS)
    config.uploadTimeoutMs = integerSetting(
      'TABSWARM_UPLOAD_TIMEOUT_MS',
      env.TABSWARM_UPLOAD_TIMEOUT_MS,
      ranges.uploadTimeoutMs,
    )
  if (env.TABSWARM_UPLOAD_IDLE_MS)
    config.uploadIdleMs = integerSetting(
      'TABSWARM_UPLOAD_IDLE_MS',
      env.TABSWARM_UPLOAD_IDLE_MS,
      ranges.uploadIdleMs,
    )
  if (env.TABSWARM_CORS_ORIGINS) config.corsOrigins = corsOrigins(env.TABSWARM_CORS_ORIGINS)
  if (env.TABSWARM_LOG_LEVEL) {
    const level = env.TABSWARM_LOG_LEVEL.toLowerCase()
    if (!(LOG_LEVELS as readonly string[]).includes(level))
      throw new Error(
        `TABSWARM_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.TABSWARM_LOG_LEVEL}"`,
      )
    config.logLevel = level as LogLevel
  }
  return config
}

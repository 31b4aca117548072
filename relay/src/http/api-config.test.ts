import { describe, expect, it } from 'vitest'
import { apiConfigFromEnv, defaultApiConfig } from './api-config.ts'

describe('API configuration from the environment', () => {
  it('defaults to no keys, limits on, info logs', () => {
    expect(apiConfigFromEnv({})).toEqual(defaultApiConfig)
  })

  it('reads keys, wallet-only, limits, proxy trust, blob cap and log level', () => {
    const config = apiConfigFromEnv({
      TABSWARM_API_KEYS: 'alice:tsk_aaaaaaaaaaaaaaaaaaaaaaaa',
      TABSWARM_WALLET_AUTH_ONLY: 'true',
      TABSWARM_RATE_LIMIT: '50/100,5/10',
      TABSWARM_TRUST_PROXY: '1',
      TABSWARM_MAX_BLOB_BYTES: '1024',
      TABSWARM_LOG_LEVEL: 'DEBUG',
    })
    expect(config).toMatchObject({
      walletAuthOnly: true,
      rateLimit: { ipPerSecond: 50, ipBurst: 100, accountPerSecond: 5, accountBurst: 10 },
      trustProxy: true,
      maxBlobBytes: 1024,
      logLevel: 'debug',
    })
    expect(config.apiKeys).toEqual([
      { account: 'alice', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ])
    expect(apiConfigFromEnv({ TABSWARM_RATE_LIMIT: 'off' }).rateLimit).toBe(false)
    expect(apiConfigFromEnv({ TABSWARM_TRUST_PROXY: '2' }).trustProxy).toBe(2)
    expect(apiConfigFromEnv({ TABSWARM_TRUST_PROXY: '0' }).trustProxy).toBe(false)
  })

  it('names the variable and the value it refuses', () => {
    expect(() => apiConfigFromEnv({ TABSWARM_RATE_LIMIT: '10' })).toThrow(
      /TABSWARM_RATE_LIMIT must be "off" or/,
    )
    expect(() => apiConfigFromEnv({ TABSWARM_RATE_LIMIT: '0/1,1/1' })).toThrow(
      /ip rps must be a positive number, got "0"/,
    )
    expect(() => apiConfigFromEnv({ TABSWARM_LOG_LEVEL: 'loud' })).toThrow(
      /TABSWARM_LOG_LEVEL must be one of debug, info, warn, error/,
    )
    expect(() => apiConfigFromEnv({ TABSWARM_TRUST_PROXY: 'maybe' })).toThrow(
      /TABSWARM_TRUST_PROXY must be true or false/,
    )
    expect(() => apiConfigFromEnv({ TABSWARM_MAX_BLOB_BYTES: '1.5' })).toThrow(
      /TABSWARM_MAX_BLOB_BYTES/,
    )
  })
})

import { MAX_MESSAGE_BYTES } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import {
  checkConfig,
  configFromEnv,
  defaultConfig,
  OPEN_RELAY_WELCOME_CREDITS,
  welcomeCreditsFor,
} from './config.ts'

describe('welcome credits', () => {
  it('are on for an open loopback relay and off for a keyed or wallet one, unless set', () => {
    const unset = configFromEnv({})
    expect(unset.welcomeCredits).toBeUndefined()
    expect(welcomeCreditsFor(unset, true)).toBe(OPEN_RELAY_WELCOME_CREDITS)
    expect(welcomeCreditsFor(unset, false)).toBe(0n)
    const set = configFromEnv({ TABSWARM_WELCOME_CREDITS: '500' })
    expect(welcomeCreditsFor(set, false)).toBe(500n)
    expect(welcomeCreditsFor(configFromEnv({ TABSWARM_WELCOME_CREDITS: '0' }), true)).toBe(0n)
    expect(() => configFromEnv({ TABSWARM_WELCOME_CREDITS: '-1' })).toThrow(
      /TABSWARM_WELCOME_CREDITS must be a non-negative integer/,
    )
  })

  it('are read exactly past 2^53, and refused past 2^63 − 1 or as a fraction', () => {
    const big = configFromEnv({ TABSWARM_WELCOME_CREDITS: '9007199254740993' })
    expect(big.welcomeCredits).toBe(9_007_199_254_740_993n)
    expect(() => configFromEnv({ TABSWARM_WELCOME_CREDITS: '9223372036854775808' })).toThrow(
      /at most 2\^63-1/,
    )
    expect(() => configFromEnv({ TABSWARM_WELCOME_CREDITS: '1.5' })).toThrow(
      /TABSWARM_WELCOME_CREDITS/,
    )
  })
})

describe('site share', () => {
  it('defaults to 10% and reads TABSWARM_SITE_SHARE_BPS from 0 to 10000 basis points', () => {
    expect(configFromEnv({}).siteShareBps).toBe(1_000)
    expect(configFromEnv({ TABSWARM_SITE_SHARE_BPS: '0' }).siteShareBps).toBe(0)
    expect(configFromEnv({ TABSWARM_SITE_SHARE_BPS: '10000' }).siteShareBps).toBe(10_000)
    for (const bad of ['10001', '-1', '2.5', 'ten'])
      expect(() => configFromEnv({ TABSWARM_SITE_SHARE_BPS: bad })).toThrow(
        /TABSWARM_SITE_SHARE_BPS must be an integer from 0 to 10000 basis points/,
      )
  })
})

describe('work-protocol limits', () => {
  it('default to the work service’s own: a 5 s idle cut, one largest message per peer', () => {
    const config = configFromEnv({})
    expect(config.workReadIdleTimeoutMs).toBe(5_000)
    expect(config.maxInflightBytesPerPeer).toBe(MAX_MESSAGE_BYTES)
  })

  it('are read from TABSWARM_WORK_READ_IDLE_MS and TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER', () => {
    const config = configFromEnv({
      TABSWARM_WORK_READ_IDLE_MS: '12000',
      TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER: String(128 * 1024 * 1024),
    })
    expect(config.workReadIdleTimeoutMs).toBe(12_000)
    expect(config.maxInflightBytesPerPeer).toBe(128 * 1024 * 1024)
  })

  it('are refused outside their range, naming the variable and the range', () => {
    expect(() => configFromEnv({ TABSWARM_WORK_READ_IDLE_MS: '500' })).toThrow(
      'TABSWARM_WORK_READ_IDLE_MS must be an integer from 1000 to 60000 ms, got "500"',
    )
    expect(() => configFromEnv({ TABSWARM_WORK_READ_IDLE_MS: '61000' })).toThrow(
      /TABSWARM_WORK_READ_IDLE_MS must be an integer from 1000 to 60000 ms/,
    )
    expect(() => configFromEnv({ TABSWARM_WORK_READ_IDLE_MS: '5s' })).toThrow(
      /TABSWARM_WORK_READ_IDLE_MS must be an integer/,
    )
    // Below one largest message an honest contributor's largest result would be refused.
    expect(() =>
      configFromEnv({ TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER: String(MAX_MESSAGE_BYTES - 1) }),
    ).toThrow(
      `TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER must be an integer from ${MAX_MESSAGE_BYTES} to ${256 * 1024 * 1024} bytes`,
    )
    expect(() =>
      configFromEnv({ TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER: String(512 * 1024 * 1024) }),
    ).toThrow(/TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER must be an integer from/)
  })
})

describe('peer inputs', () => {
  it('are on by default and turned off by TABSWARM_PEER_INPUTS=off', () => {
    expect(configFromEnv({}).peerInputs).toBe(true)
    expect(configFromEnv({ TABSWARM_PEER_INPUTS: 'off' }).peerInputs).toBe(false)
    expect(configFromEnv({ TABSWARM_PEER_INPUTS: 'ON' }).peerInputs).toBe(true)
    expect(() => configFromEnv({ TABSWARM_PEER_INPUTS: 'maybe' })).toThrow(
      'TABSWARM_PEER_INPUTS must be "on" or "off", got "maybe"',
    )
  })
})

describe('inference settings', () => {
  it('default to a 5% spot check and 1 GiB per contributor, and are read from the environment', () => {
    expect(configFromEnv({})).toMatchObject({
      inferenceSpotCheckRate: 0.05,
      inferenceMemoryBytes: 1024 ** 3,
    })
    expect(
      configFromEnv({
        TABSWARM_INFERENCE_SPOT_CHECK: '1',
        TABSWARM_INFERENCE_MEMORY_BYTES: String(256 * 1024 ** 2),
      }),
    ).toMatchObject({ inferenceSpotCheckRate: 1, inferenceMemoryBytes: 256 * 1024 ** 2 })
    expect(() => configFromEnv({ TABSWARM_INFERENCE_SPOT_CHECK: '1.5' })).toThrow(
      'TABSWARM_INFERENCE_SPOT_CHECK must be a fraction from 0 to 1, got "1.5"',
    )
    expect(() => configFromEnv({ TABSWARM_INFERENCE_MEMORY_BYTES: '1000' })).toThrow(
      /TABSWARM_INFERENCE_MEMORY_BYTES must be an integer from 16777216 to 1099511627776 bytes/,
    )
  })
})

describe('upload limits', () => {
  it('default to 4 uploads per account, 16 in all, a 10-minute deadline and a 30 s idle cut', () => {
    expect(configFromEnv({}).api).toMatchObject({
      uploads: { perAccount: 4, total: 16 },
      uploadTimeoutMs: 600_000,
      uploadIdleMs: 30_000,
    })
  })

  it('are read from the TABSWARM_UPLOAD* variables', () => {
    const { api } = configFromEnv({
      TABSWARM_UPLOADS_PER_ACCOUNT: '2',
      TABSWARM_UPLOADS_TOTAL: '64',
      TABSWARM_UPLOAD_TIMEOUT_MS: '120000',
      TABSWARM_UPLOAD_IDLE_MS: '5000',
    })
    expect(api).toMatchObject({
      uploads: { perAccount: 2, total: 64 },
      uploadTimeoutMs: 120_000,
      uploadIdleMs: 5_000,
    })
    // Each call builds its own: one config's change is not another's.
    expect(configFromEnv({}).api.uploads).toEqual({ perAccount: 4, total: 16 })
    expect(defaultConfig.api.uploads).toEqual({ perAccount: 4, total: 16 })
  })

  it('are refused outside their range, naming the variable and the range', () => {
    expect(() => configFromEnv({ TABSWARM_UPLOADS_PER_ACCOUNT: '0' })).toThrow(
      'TABSWARM_UPLOADS_PER_ACCOUNT must be an integer from 1 to 1024, got "0"',
    )
    expect(() => configFromEnv({ TABSWARM_UPLOADS_TOTAL: '5000' })).toThrow(
      'TABSWARM_UPLOADS_TOTAL must be an integer from 1 to 4096, got "5000"',
    )
    expect(() => configFromEnv({ TABSWARM_UPLOAD_TIMEOUT_MS: '999' })).toThrow(
      'TABSWARM_UPLOAD_TIMEOUT_MS must be an integer from 1000 to 86400000 ms, got "999"',
    )
    expect(() => configFromEnv({ TABSWARM_UPLOAD_IDLE_MS: '1.5' })).toThrow(
      'TABSWARM_UPLOAD_IDLE_MS must be an integer from 1000 to 600000 ms, got "1.5"',
    )
  })

  it('are checked against each other: an account’s share within the relay’s, silence within the deadline', () => {
    expect(() =>
      configFromEnv({ TABSWARM_UPLOADS_PER_ACCOUNT: '8', TABSWARM_UPLOADS_TOTAL: '4' }),
    ).toThrow(/uploads per account \(8\) must be at most the relay's uploads in flight \(4\)/)
    expect(() =>
      configFromEnv({ TABSWARM_UPLOAD_TIMEOUT_MS: '10000', TABSWARM_UPLOAD_IDLE_MS: '20000' }),
    ).toThrow(/upload idle cut \(20000 ms\) must be at most the upload deadline \(10000 ms\)/)
    // Deferred, for flags applied after the environment, then checked.
    const deferred = configFromEnv({ TABSWARM_UPLOADS_PER_ACCOUNT: '32' }, { check: false })
    expect(() => checkConfig(deferred)).toThrow(/uploads per account \(32\)/)
    deferred.api.uploads.total = 32
    expect(() => checkConfig(deferred)).not.toThrow()
  })
})

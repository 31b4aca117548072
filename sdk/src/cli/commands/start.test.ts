import { describe, expect, it } from 'vitest'
import { UsageError } from '../usage-error.ts'
import { configFrom } from './start.ts'

describe('tabswarm start limits', () => {
  it('takes the work and upload limits from flags, over the environment', () => {
    const config = configFrom(
      {
        'work-read-idle-ms': '2000',
        'max-inflight-bytes-per-peer': String(96 * 1024 * 1024),
        'uploads-per-account': '1',
        'uploads-total': '2',
        'upload-timeout-ms': '60000',
        'upload-idle-ms': '3000',
      },
      { TABSWARM_WORK_READ_IDLE_MS: '9000', TABSWARM_UPLOADS_TOTAL: '8' },
    )
    expect(config.workReadIdleTimeoutMs).toBe(2_000)
    expect(config.maxInflightBytesPerPeer).toBe(96 * 1024 * 1024)
    expect(config.api).toMatchObject({
      uploads: { perAccount: 1, total: 2 },
      uploadTimeoutMs: 60_000,
      uploadIdleMs: 3_000,
    })
  })

  it('turns provider hints off with --no-peer-inputs or TABSWARM_PEER_INPUTS=off, on by default', () => {
    expect(configFrom({}, {}).peerInputs).toBe(true)
    expect(configFrom({ 'no-peer-inputs': true }, {}).peerInputs).toBe(false)
    expect(configFrom({}, { TABSWARM_PEER_INPUTS: 'off' }).peerInputs).toBe(false)
    expect(configFrom({}, { TABSWARM_PEER_INPUTS: 'on' }).peerInputs).toBe(true)
    expect(() => configFrom({}, { TABSWARM_PEER_INPUTS: 'sometimes' })).toThrow(
      'TABSWARM_PEER_INPUTS must be "on" or "off", got "sometimes"',
    )
  })

  it('takes the site share from --site-share-bps over TABSWARM_SITE_SHARE_BPS, 10% by default', () => {
    expect(configFrom({}, {}).siteShareBps).toBe(1_000)
    expect(configFrom({}, { TABSWARM_SITE_SHARE_BPS: '250' }).siteShareBps).toBe(250)
    expect(
      configFrom({ 'site-share-bps': '0' }, { TABSWARM_SITE_SHARE_BPS: '250' }).siteShareBps,
    ).toBe(0)
    expect(() => configFrom({ 'site-share-bps': '10001' }, {})).toThrow(
      '--site-share-bps must be an integer from 0 to 10000 basis points, got "10001"',
    )
  })

  it('refuses a flag outside its range as bad usage, naming the flag and the range', () => {
    const attempt = () => configFrom({ 'upload-idle-ms': '100' }, {})
    expect(attempt).toThrow(UsageError)
    expect(attempt).toThrow('--upload-idle-ms must be an integer from 1000 to 600000 ms, got "100"')
    expect(() => configFrom({ 'work-read-idle-ms': 'soon' }, {})).toThrow(
      /--work-read-idle-ms must be an integer from 1000 to 60000 ms/,
    )
  })

  it('checks settings against each other once flags are applied: a flag may fix its env variable', () => {
    const env = { TABSWARM_UPLOADS_PER_ACCOUNT: '32' }
    expect(() => configFrom({}, env)).toThrow(UsageError)
    expect(configFrom({ 'uploads-total': '64' }, env).api.uploads).toEqual({
      perAccount: 32,
      total: 64,
    })
  })
})

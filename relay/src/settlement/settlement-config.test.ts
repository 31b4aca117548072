import { getAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import { configFromEnv } from '../config.ts'
import { settlementConfigFromEnv } from './settlement-config.ts'

const KEY = `0x${'11'.repeat(32)}`
const CHAIN = {
  TABSWARM_CHAIN_RPC_URL: 'https://rpc.example.org',
  TABSWARM_SETTLEMENT_KEY: KEY,
  TABSWARM_DISTRIBUTOR_ADDRESS: '0x00000000000000000000000000000000000000d1',
  TABSWARM_TOKEN_ADDRESS: '0x00000000000000000000000000000000000000e1',
}

describe('settlement config', () => {
  it('settles on an embedded chain by default: port 8545, epochs every 10 minutes, 1 base unit per credit', () => {
    expect(configFromEnv({}).settlement).toEqual({
      mode: 'embedded',
      chainPort: 8545,
      epochMinutes: 10,
      unitsPerCredit: 1n,
      operators: ['operator'],
    })
  })

  it('reads the embedded chain’s port, the epoch interval, the unit, operators and the public RPC URL', () => {
    expect(
      settlementConfigFromEnv({
        TABSWARM_CHAIN_PORT: '0',
        TABSWARM_EPOCH_MINUTES: '0',
        TABSWARM_UNITS_PER_CREDIT: '1000000000000000000000',
        TABSWARM_SETTLEMENT_OPERATORS: 'alice, ops',
        TABSWARM_CHAIN_PUBLIC_RPC_URL: 'https://chain.example.org',
      }),
    ).toEqual({
      mode: 'embedded',
      chainPort: 0,
      epochMinutes: 0,
      unitsPerCredit: 10n ** 21n,
      operators: ['alice', 'ops'],
      publicRpcUrl: 'https://chain.example.org',
    })
  })

  it('turns off with TABSWARM_SETTLEMENT=off, whatever else is set', () => {
    expect(settlementConfigFromEnv({ TABSWARM_SETTLEMENT: 'off', ...CHAIN })).toEqual({
      mode: 'off',
    })
    expect(() => settlementConfigFromEnv({ TABSWARM_SETTLEMENT: 'maybe' })).toThrow(
      'TABSWARM_SETTLEMENT must be "off", "embedded" or "chain", got "maybe"',
    )
  })

  it('settles on an external chain when its variables are set, with checksummed addresses', () => {
    expect(settlementConfigFromEnv(CHAIN)).toMatchObject({
      mode: 'chain',
      rpcUrl: 'https://rpc.example.org',
      posterKey: KEY,
      distributor: getAddress(CHAIN.TABSWARM_DISTRIBUTOR_ADDRESS),
      token: getAddress(CHAIN.TABSWARM_TOKEN_ADDRESS),
    })
  })

  it('refuses an incomplete external chain, naming the missing variable', () => {
    for (const missing of Object.keys(CHAIN)) {
      const env: Record<string, string> = { ...CHAIN }
      delete env[missing]
      expect(() => settlementConfigFromEnv(env)).toThrow(`settlement on a chain needs ${missing}`)
    }
    expect(() => settlementConfigFromEnv({ TABSWARM_SETTLEMENT: 'chain' })).toThrow(
      /needs TABSWARM_CHAIN_RPC_URL/,
    )
  })

  it('refuses malformed values, naming the variable and never echoing the key', () => {
    const attempt = (env: Record<string, string>) => () => settlementConfigFromEnv(env)
    expect(attempt({ ...CHAIN, TABSWARM_SETTLEMENT_KEY: '0xsecret' })).toThrow(
      'TABSWARM_SETTLEMENT_KEY must be a private key, 0x + 64 hex (its value is not shown)',
    )
    expect(attempt({ ...CHAIN, TABSWARM_TOKEN_ADDRESS: '0x12' })).toThrow(
      'TABSWARM_TOKEN_ADDRESS must be an address (0x + 40 hex), got "0x12"',
    )
    expect(attempt({ ...CHAIN, TABSWARM_CHAIN_RPC_URL: 'ftp://x' })).toThrow(
      /TABSWARM_CHAIN_RPC_URL must be an http\(s\) or ws\(s\) URL/,
    )
    expect(attempt({ TABSWARM_UNITS_PER_CREDIT: '1.5' })).toThrow(
      /TABSWARM_UNITS_PER_CREDIT must be a positive integer/,
    )
    expect(attempt({ TABSWARM_UNITS_PER_CREDIT: '0' })).toThrow(/must be a positive integer/)
    expect(attempt({ TABSWARM_EPOCH_MINUTES: '-1' })).toThrow(
      'TABSWARM_EPOCH_MINUTES must be an integer from 0 to 10080 minutes, got "-1"',
    )
    expect(attempt({ TABSWARM_CHAIN_PORT: '70000' })).toThrow(
      /TABSWARM_CHAIN_PORT must be an integer from 0 to 65535/,
    )
  })
})

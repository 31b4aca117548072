import { getAddress, isAddress } from 'viem'
import { integerSetting } from '../integer-setting.ts'
import type { Address, Hex } from './chain/settlement-chain.ts'

/** What every settling relay shares, whichever chain it settles on. */
export interface SettlementCommon {
  /** Minutes between automatic epoch closes; 0 closes only on demand. @default 10 */
  epochMinutes: number
  /** Token base units per ledger credit. @default 1n */
  unitsPerCredit: bigint
  /**
   * API-key accounts that may close an epoch on demand (`POST /v1/settlement/epochs`) on a
   * keyed relay; an open loopback relay lets its local user. @default ['operator']
   */
  operators: string[]
  /** The JSON-RPC URL browsers are told to use; embedded: the local chain's own. */
  publicRpcUrl?: string
}

/**
 * Where credits settle:
 * - `off`: nowhere; the settlement API answers `SETTLEMENT_DISABLED`.
 * - `embedded` (the default): a development chain in this process (Hardhat EDR) with a
 *   JSON-RPC server on `chainPort`; the token and distributor are deployed at each start and
 *   every stored root is posted again, since the chain keeps no state across restarts.
 * - `chain`: an EVM chain at `rpcUrl`, contracts already deployed; the relay posts roots
 *   with `posterKey` and refuses to start when `distributor` is not the expected contract.
 */
export type SettlementConfig =
  | { mode: 'off' }
  | (SettlementCommon & {
      mode: 'embedded'
      /** The local chain's JSON-RPC port; 0 picks a free one. @default 8545 */
      chainPort: number
    })
  | (SettlementCommon & {
      mode: 'chain'
      rpcUrl: string
      /** The root poster's private key. Never logged. */
      posterKey: Hex
      distributor: Address
      token: Address
    })

export const SETTLEMENT_DEFAULTS = {
  epochMinutes: 10,
  unitsPerCredit: 1n,
  operators: ['operator'],
  chainPort: 8545,
} as const

export const defaultSettlementConfig: SettlementConfig = {
  mode: 'embedded',
  epochMinutes: SETTLEMENT_DEFAULTS.epochMinutes,
  unitsPerCredit: SETTLEMENT_DEFAULTS.unitsPerCredit,
  operators: [...SETTLEMENT_DEFAULTS.operators],
  chainPort: SETTLEMENT_DEFAULTS.chainPort,
}

/** Variables that configure settlement on an external chain; any of them set selects `chain`. */
const CHAIN_VARIABLES = {
  TABSWARM_CHAIN_RPC_URL: 'the chain’s JSON-RPC URL',
  TABSWARM_SETTLEMENT_KEY: 'the root poster’s private key, 0x + 64 hex',
  TABSWARM_DISTRIBUTOR_ADDRESS: 'the CumulativeMerkleDistributor’s address',
  TABSWARM_TOKEN_ADDRESS: 'the address of the token it pays',
} as const

function url(name: string, raw: string): string {
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new Error(`${name} must be a URL, got "${raw}"`)
  }
  if (!/^(https?|wss?):$/.test(parsed.protocol))
    throw new Error(`${name} must be an http(s) or ws(s) URL, got "${raw}"`)
  return raw
}

function address(name: string, raw: string): Address {
  if (!isAddress(raw, { strict: false }))
    throw new Error(`${name} must be an address (0x + 40 hex), got "${raw}"`)
  return getAddress(raw)
}

/**
 * Reads the settlement settings from `TABSWARM_*` variables (see {@link SettlementConfig}).
 * `TABSWARM_SETTLEMENT` is `off`, `embedded` or `chain`; unset, it is `chain` when any chain
 * variable is set and `embedded` otherwise. A `chain` relay missing one of its variables does
 * not start: the error names the variable.
 */
export function settlementConfigFromEnv(env: Record<string, string | undefined>): SettlementConfig {
  const set = (name: string) => env[name] != null && env[name]?.trim() !== ''
  const raw = env.TABSWARM_SETTLEMENT?.trim().toLowerCase()
  if (raw != null && raw !== '' && raw !== 'off' && raw !== 'embedded' && raw !== 'chain')
    throw new Error(
      `TABSWARM_SETTLEMENT must be "off", "embedded" or "chain", got "${env.TABSWARM_SETTLEMENT}"`,
    )
  if (raw === 'off') return { mode: 'off' }
  const mode =
    raw === 'embedded' || raw === 'chain'
      ? raw
      : Object.keys(CHAIN_VARIABLES).some(set)
        ? 'chain'
        : 'embedded'

  const common: SettlementCommon = {
    epochMinutes: set('TABSWARM_EPOCH_MINUTES')
      ? integerSetting('TABSWARM_EPOCH_MINUTES', env.TABSWARM_EPOCH_MINUTES as string, {
          min: 0,
          max: 10_080,
          unit: 'minutes',
        })
      : SETTLEMENT_DEFAULTS.epochMinutes,
    unitsPerCredit: SETTLEMENT_DEFAULTS.unitsPerCredit,
    operators: [...SETTLEMENT_DEFAULTS.operators],
  }
  if (set('TABSWARM_UNITS_PER_CREDIT')) {
    const units = (env.TABSWARM_UNITS_PER_CREDIT as string).trim()
    if (!/^[1-9][0-9]{0,38}$/.test(units))
      throw new Error(
        `TABSWARM_UNITS_PER_CREDIT must be a positive integer (token base units per credit, e.g. 1000000000000000000 for 1 token of 18 decimals), got "${env.TABSWARM_UNITS_PER_CREDIT}"`,
      )
    common.unitsPerCredit = BigInt(units)
  }
  if (set('TABSWARM_SETTLEMENT_OPERATORS')) {
    common.operators = (env.TABSWARM_SETTLEMENT_OPERATORS as string)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
  }
  if (set('TABSWARM_CHAIN_PUBLIC_RPC_URL'))
    common.publicRpcUrl = url(
      'TABSWARM_CHAIN_PUBLIC_RPC_URL',
      (env.TABSWARM_CHAIN_PUBLIC_RPC_URL as string).trim(),
    )

  if (mode === 'embedded') {
    let chainPort: number = SETTLEMENT_DEFAULTS.chainPort
    if (set('TABSWARM_CHAIN_PORT'))
      chainPort = integerSetting('TABSWARM_CHAIN_PORT', env.TABSWARM_CHAIN_PORT as string, {
        min: 0,
        max: 65_535,
      })
    return { ...common, mode, chainPort }
  }

  for (const [name, what] of Object.entries(CHAIN_VARIABLES))
    if (!set(name))
      throw new Error(
        `settlement on a chain needs ${name} (${what}); set it, or TABSWARM_SETTLEMENT=embedded for a local development chain, or TABSWARM_SETTLEMENT=off`,
      )
  const posterKey = (env.TABSWARM_SETTLEMENT_KEY as string).trim()
  if (!/^0x[0-9a-fA-F]{64}$/.test(posterKey))
    throw new Error(
      'TABSWARM_SETTLEMENT_KEY must be a private key, 0x + 64 hex (its value is not shown)',
    )
  return {
    ...common,
    mode,
    rpcUrl: url('TABSWARM_CHAIN_RPC_URL', (env.TABSWARM_CHAIN_RPC_URL as string).trim()),
    posterKey: posterKey as Hex,
    distributor: address(
      'TABSWARM_DISTRIBUTOR_ADDRESS',
      (env.TABSWARM_DISTRIBUTOR_ADDRESS as string).trim(),
    ),
    token: address('TABSWARM_TOKEN_ADDRESS', (env.TABSWARM_TOKEN_ADDRESS as string).trim()),
  }
}

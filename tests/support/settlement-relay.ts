import type { TabswarmConfig } from '@tabswarm/relay'
import { type InProcessRelay, startInProcessRelay } from './in-process-relay.ts'

export interface SettlementRelay extends InProcessRelay {
  /** The embedded chain's JSON-RPC URL. */
  rpcUrl: string
  distributor: `0x${string}`
  token: `0x${string}`
}

/**
 * A real relay with settlement on its embedded chain: Hardhat's EDR in process, the credit
 * token and the distributor deployed, its JSON-RPC server on a free port. Epochs close only
 * when asked (`POST /v1/settlement/epochs`), so a test decides when roots are posted.
 */
export async function startSettlementRelay(
  overrides: Partial<TabswarmConfig> = {},
): Promise<SettlementRelay> {
  const relay = await startInProcessRelay({
    settlement: {
      mode: 'embedded',
      chainPort: 0,
      epochMinutes: 0,
      unitsPerCredit: 1n,
      operators: ['operator'],
    },
    ...overrides,
  })
  const chain = relay.running.settlement
  if (chain?.rpcUrl == null) {
    await relay.stop()
    throw new Error('the relay started without settlement on its embedded chain')
  }
  return Object.assign(relay, {
    rpcUrl: chain.rpcUrl,
    distributor: chain.distributor as `0x${string}`,
    token: chain.token as `0x${string}`,
  })
}

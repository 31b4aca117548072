import type { TabswarmConfig } from '@tabswarm/relay'
import { createPublicClient, type Hex, http, type PublicClient } from 'viem'
import { creditTokenAbi } from '../../relay/src/settlement/contracts/CreditToken.artifact.ts'
import { type InProcessRelay, startInProcessRelay } from './in-process-relay.ts'

export interface SettlementRelay extends InProcessRelay {
  /** The embedded chain's JSON-RPC URL. */
  rpcUrl: string
  distributor: Hex
  token: Hex
  /** Reads the embedded chain. */
  publicClient: PublicClient
  /** The credit token balance of `account` on the chain, in base units. */
  balanceOf(account: Hex): Promise<bigint>
  /** Claim transactions the relay has sent for `POST /v1/settlement/claims`, from its log. */
  claimsSent(): number
}

/**
 * A real relay with settlement on its embedded chain: Hardhat's EDR in process, the credit
 * token and the distributor deployed, its JSON-RPC server on a free port. Epochs close only
 * when asked (`POST /v1/settlement/epochs`), so a test decides when roots are posted.
 */
export async function startSettlementRelay(
  options: Partial<Omit<TabswarmConfig, 'settlement'>> & {
    /**
     * Token base units per ledger credit. A test that checks the conversion picks an odd one,
     * so that a figure the relay forgot to multiply, or rounded through a float, cannot pass.
     * @default 1n
     */
    unitsPerCredit?: bigint
  } = {},
): Promise<SettlementRelay> {
  const { unitsPerCredit = 1n, ...overrides } = options
  const relay = await startInProcessRelay({
    ...overrides,
    settlement: {
      mode: 'embedded',
      chainPort: 0,
      epochMinutes: 0,
      unitsPerCredit,
      operators: ['operator'],
    },
  })
  const chain = relay.running.settlement
  if (chain?.rpcUrl == null) {
    await relay.stop()
    throw new Error('the relay started without settlement on its embedded chain')
  }
  const token = chain.token as Hex
  const publicClient = createPublicClient({
    transport: http(chain.rpcUrl),
    pollingInterval: 50,
  }) as PublicClient
  return Object.assign(relay, {
    rpcUrl: chain.rpcUrl,
    distributor: chain.distributor as Hex,
    token,
    publicClient,
    balanceOf: (account: Hex) =>
      publicClient.readContract({
        address: token,
        abi: creditTokenAbi,
        functionName: 'balanceOf',
        args: [account],
      }),
    claimsSent: () => relay.log.lines.filter((l) => l.msg === 'claims submitted').length,
  })
}

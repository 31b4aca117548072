import { privateKeyToAccount } from 'viem/accounts'
import { createClient, type TabswarmClient } from '../client/client.ts'
import { defaultRelayUrl } from './relay-url.ts'
import { UsageError } from './usage-error.ts'

/** Flags every command that talks to the relay accepts. */
export const clientFlags = {
  relay: { type: 'string' },
  'api-key': { type: 'string' },
} as const

export const clientFlagsHelp = `  --relay <url>        relay/coordinator HTTP URL (env TABSWARM_RELAY, default http://127.0.0.1:8787)
  --api-key <key>      researcher API key (env TABSWARM_API_KEY; not needed on a local relay)
                       or sign requests with a wallet: env TABSWARM_WALLET_KEY=0x<private key>`

/** The SDK client for a command's `--relay` and `--api-key` flags, falling back to the environment. */
export function clientFromFlags(values: { relay?: string; 'api-key'?: string }): TabswarmClient {
  const relay = values.relay ?? defaultRelayUrl()
  const apiKey = values['api-key'] ?? process.env.TABSWARM_API_KEY
  if (apiKey) return createClient({ relay, apiKey })
  const walletKey = process.env.TABSWARM_WALLET_KEY
  if (walletKey) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(walletKey))
      throw new UsageError('TABSWARM_WALLET_KEY must be 0x followed by 64 hex digits')
    return createClient({ relay, wallet: privateKeyToAccount(walletKey as `0x${string}`) })
  }
  return createClient({ relay })
}

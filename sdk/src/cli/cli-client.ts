import { createClient, type TabswarmClient } from '../client/client.ts'
import { defaultRelayUrl } from './relay-url.ts'

/** Flags every command that talks to the relay accepts. */
export const clientFlags = {
  relay: { type: 'string' },
  'api-key': { type: 'string' },
} as const

export const clientFlagsHelp = `  --relay <url>        relay/coordinator HTTP URL (env TABSWARM_RELAY, default http://127.0.0.1:8787)
  --api-key <key>      researcher API key (env TABSWARM_API_KEY; not needed on a local relay)`

/** The SDK client for a command's `--relay` and `--api-key` flags, falling back to the environment. */
export function clientFromFlags(values: { relay?: string; 'api-key'?: string }): TabswarmClient {
  const apiKey = values['api-key'] ?? process.env.TABSWARM_API_KEY
  return createClient({ relay: values.relay ?? defaultRelayUrl(), ...(apiKey ? { apiKey } : {}) })
}

/** Budget for asking the relay whether it settles on chain. */
const LOOKUP_TIMEOUT_MS = 10_000

/**
 * Whether the relay that served this page settles credits on chain, from its `/v1/swarm`
 * answer (`settlement: true`). A page asks once, before any `/v1/settlement` call, so a relay
 * that settles nothing is never polled for figures it cannot give (and the console never
 * fills with its 404s).
 */
export async function relaySettlesOnChain(signal: AbortSignal): Promise<boolean> {
  const response = await fetch('./v1/swarm', {
    signal: AbortSignal.any([signal, AbortSignal.timeout(LOOKUP_TIMEOUT_MS)]),
  })
  if (!response.ok) throw new Error(`the relay answered ${response.status} for /v1/swarm`)
  const body = (await response.json()) as { settlement?: unknown }
  return body.settlement === true
}

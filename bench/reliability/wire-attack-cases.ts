import { outcomeOf, resultFrame, startWirePeer, type WirePeer } from './wire-attacks.ts'

/** One crafted attack over the wire and what the relay answered. */
export interface WireAttackOutcome {
  kind: 'never-leased' | 'replay-same-lease' | 'replay-for-new-lease' | 'another-peers-lease'
  /** What the relay said to the attacker. */
  outcome: string
  /** An attack succeeds when its frame is accepted or held for a vote. */
  succeeded: boolean
}

const succeeded = (outcome: string) => outcome === 'accepted' || outcome === 'pending'

async function leaseOrThrow(peer: WirePeer, what: string) {
  const lease = await peer.lease()
  if (lease == null)
    throw new Error(`no task to lease for ${what}: start the attacks while a job runs`)
  return lease
}

/**
 * Attacks on the work protocol with frames built by the protocol's own encoders, over real
 * libp2p connections to the relay: results for leases never granted, replays of an accepted
 * result frame (on its own lease, and re-addressed to the attacker's new lease), and a
 * result for a lease held by another peer id. Honest crafted peers `honest` and `victim`
 * do real work beside `attacker`; only the attacker must earn nothing.
 */
export async function runWireAttacks(relayAddr: string): Promise<{
  outcomes: WireAttackOutcome[]
  attackers: string[]
}> {
  const honest = await startWirePeer(relayAddr)
  const victim = await startWirePeer(relayAddr)
  const attacker = await startWirePeer(relayAddr)
  const thief = await startWirePeer(relayAddr)
  const outcomes: WireAttackOutcome[] = []
  const record = (kind: WireAttackOutcome['kind'], outcome: string) =>
    outcomes.push({ kind, outcome, succeeded: succeeded(outcome) })
  try {
    // A result for a lease id the relay never granted (a well-formed guess).
    const guess = await resultFrame(
      `lease-${crypto.randomUUID()}`,
      new Float32Array(64).fill(1),
      [8, 8],
    )
    record('never-leased', outcomeOf(await attacker.send(guess.request, guess.payload)))

    // An honest result, accepted; then the same frame again, from its sender and from another peer.
    const first = await leaseOrThrow(honest, 'the replayed result')
    const accepted = await resultFrame(first.leaseId, first.right, first.shape)
    const honestOutcome = outcomeOf(await honest.send(accepted.request, accepted.payload))
    if (!succeeded(honestOutcome))
      throw new Error(`the honest crafted result was not accepted: ${honestOutcome}`)
    record('replay-same-lease', outcomeOf(await honest.send(accepted.request, accepted.payload)))
    record('replay-same-lease', outcomeOf(await attacker.send(accepted.request, accepted.payload)))

    // Another peer's lease: the thief sends the right answer for a lease the victim holds.
    const held = await leaseOrThrow(victim, 'the stolen lease')
    const stolen = await resultFrame(held.leaseId, held.right, held.shape)
    record('another-peers-lease', outcomeOf(await thief.send(stolen.request, stolen.payload)))
    const victimOutcome = outcomeOf(await victim.send(stolen.request, stolen.payload))
    if (!succeeded(victimOutcome))
      throw new Error(`the victim's own result was not accepted after the theft: ${victimOutcome}`)

    // The accepted frame re-addressed to a new lease of the attacker's: another tile's answer.
    const own = await leaseOrThrow(attacker, 'the re-addressed replay')
    const readdressed = await resultFrame(own.leaseId, first.right, first.shape)
    record(
      'replay-for-new-lease',
      outcomeOf(await attacker.send(readdressed.request, readdressed.payload)),
    )
    return { outcomes, attackers: [attacker.peerId, thief.peerId] }
  } finally {
    await Promise.allSettled([honest, victim, attacker, thief].map((p) => p.stop()))
  }
}

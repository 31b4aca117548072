import { RelayRefusalError, WORK_PROTOCOL } from '@tabswarm/protocol'

/** Every version of the work protocol shares this prefix; the version follows it. */
const WORK_PROTOCOL_PREFIX = '/tabswarm/work/'

/**
 * Refusals in a row, none of the relay's protocols a work protocol, after which a relay that
 * will not negotiate ours counts as not speaking it. Fewer could mistake a relay shutting
 * down (it stops serving the protocol a moment before it closes connections) for one that
 * never speaks it; any other answer in between starts the count again.
 */
export const UNSUPPORTED_REFUSALS_BEFORE_STOPPING = 3

function majorOf(protocol: string): number {
  return Number.parseInt(protocol.slice(WORK_PROTOCOL_PREFIX.length), 10)
}

/**
 * The error for a relay that answered the protocol negotiation for {@link WORK_PROTOCOL}
 * with "not supported" (libp2p's `UnsupportedProtocolError`). `relayProtocols` are the
 * protocols the relay announced (identify); `refusals` counts them in a row.
 *
 * Permanent when the relay announces work protocols and ours is not among them (another
 * version: the message names both, and who should update), or after
 * {@link UNSUPPORTED_REFUSALS_BEFORE_STOPPING} refusals in a row with no version known (the
 * message says it could not learn one). Not permanent while the relay still announces ours
 * or nothing is known yet: it is stopping or starting, and the contributor asks again.
 */
export function unsupportedWorkProtocolError(
  request: string,
  relayProtocols: readonly string[],
  refusals: number,
  cause: unknown,
): RelayRefusalError {
  const theirs = relayProtocols.filter((p) => p.startsWith(WORK_PROTOCOL_PREFIX)).sort()
  const ours = WORK_PROTOCOL
  const refuse = (message: string, permanent: boolean) =>
    new RelayRefusalError(request, 'WORK_PROTOCOL_UNSUPPORTED', message, { permanent, cause })
  if (theirs.length > 0 && !theirs.includes(ours)) {
    const newest = theirs.at(-1)!
    const fix =
      majorOf(newest) > majorOf(ours)
        ? `update @tabswarm/sdk to a release that speaks ${newest} (in a tab, reload the page)`
        : `the relay is older than this contributor: ask its operator to update it, or use the @tabswarm/sdk release that speaks ${newest}`
    return refuse(
      `the relay speaks work protocol ${theirs.join(', ')}; this contributor speaks ${ours}: ${fix}`,
      true,
    )
  }
  if (theirs.length === 0 && refusals >= UNSUPPORTED_REFUSALS_BEFORE_STOPPING)
    return refuse(
      `the relay does not speak work protocol ${ours} (refused ${refusals} times in a row) and does not say which version it speaks: it may run another Tabswarm release, or not be a Tabswarm relay at all; check the relay address, and update @tabswarm/sdk to the relay's release (in a tab, reload the page)`,
      true,
    )
  return refuse(
    `the relay does not serve work protocol ${ours} at the moment (it may be stopping or starting); asking again`,
    false,
  )
}

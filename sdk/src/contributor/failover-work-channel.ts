import type { Libp2p } from '@libp2p/interface'
import { RelayRefusalError } from '@tabswarm/protocol'
import type { RelayMiss, RelayRoster } from './relay-roster.ts'
import { type WorkChannel, workChannelOver } from './work-channel.ts'

export interface FailoverWorkChannelOptions {
  /** Told of every miss (and whether it moved to another relay), for logs. */
  onMiss?: ((miss: RelayMiss, error: unknown) => void) | undefined
}

/**
 * The work protocol to whichever relay of `roster` is in use. A request that fails to reach
 * it (the dial fails, the connection drops, no answer within the loop's request timeout)
 * is a miss; after the roster's misses in a row, the next request goes to the next relay
 * of the cluster. The loop sees the failure as it always did (and waits its backoff, named
 * in its `relay-error` event), then says hello again: to the new relay, with the same
 * wallet binding, which names no relay. Any answer, a refusal included, is a relay that is
 * there.
 *
 * A stop is not a miss: only a request that ran out of time counts against the relay.
 *
 * @example
 * const roster = createRelayRoster(relayCandidatesOf(await (await fetch(`${url}/v1/swarm`)).json()))
 * await runContributor({ channel: failoverWorkChannel(node, roster), inputs: relayInputSource(node, () => roster.address), ... })
 */
export function failoverWorkChannel(
  node: Libp2p,
  roster: RelayRoster,
  options: FailoverWorkChannelOptions = {},
): WorkChannel {
  const inner = workChannelOver(node, () => roster.address)
  return {
    peerId: inner.peerId,
    get relay() {
      return inner.relay
    },
    async exchange(request, payload, signal) {
      try {
        const response = await inner.exchange(request, payload, signal)
        roster.reached()
        return response
      } catch (err) {
        if (err instanceof RelayRefusalError) {
          roster.reached()
          throw err
        }
        const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError'
        if (!signal.aborted || timedOut) {
          const miss = roster.missed()
          options.onMiss?.(miss, err)
        }
        throw err
      }
    },
  }
}

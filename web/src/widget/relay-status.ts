import { failoverTarget, type RelayLinkEvent } from '../swarm/relay-link.ts'
import { createRetryCountdown } from '../swarm/retry-countdown.ts'

export interface RelayStatus {
  /** Shows what a relay link's event means for the widget's status line. */
  update(event: RelayLinkEvent): void
  /** Ends a countdown in progress: the run stopped, and nothing may write the line again. */
  stop(): void
}

/**
 * The widget's status line for the relay link's events, handed to `show`. A failover names
 * the relay the widget moves to, and the wait that follows it (before that relay's dial)
 * keeps saying so rather than "retrying"; a wait counts down a second at a time; once
 * connected, the line says where it runs now.
 */
export function createRelayStatus(show: (line: string) => void): RelayStatus {
  let movingTo: string | undefined
  const retry = createRetryCountdown()
  return {
    update(event) {
      retry.stop()
      switch (event.type) {
        case 'relay-connected':
          show(movingTo ? `Running: moved to relay ${movingTo}` : 'Running: connected')
          movingTo = undefined
          return
        case 'relay-failover':
          movingTo = failoverTarget(event)
          show(`Lost the relay; moving to relay ${movingTo}`)
          return
        case 'relay-retry': {
          const to = movingTo
          retry.start(event.retryInMs, (left) => {
            const when = left > 0 ? ` in ${left} s` : ': connecting'
            show(
              to
                ? `Lost the relay; moving to relay ${to}${when}`
                : `Lost the relay; retrying${when}`,
            )
          })
          return
        }
        case 'relay-lost':
          return
      }
    },
    stop: retry.stop,
  }
}

import { failoverTarget, type RelayLinkEvent } from '../swarm/relay-link.ts'

/**
 * The widget's status line for the relay link's events. A failover names the relay the
 * widget moves to, and the wait that follows it (before that relay's dial) keeps saying so
 * rather than "retrying"; once connected there, the line says where it runs now.
 */
export function createRelayStatus() {
  let movingTo: string | undefined
  return (event: RelayLinkEvent): string | undefined => {
    switch (event.type) {
      case 'relay-connected': {
        const line = movingTo ? `Running: moved to relay ${movingTo}` : 'Running: connected'
        movingTo = undefined
        return line
      }
      case 'relay-failover':
        movingTo = failoverTarget(event)
        return `Lost the relay; moving to relay ${movingTo}`
      case 'relay-retry': {
        const seconds = Math.ceil(event.retryInMs / 1000)
        return movingTo
          ? `Lost the relay; moving to relay ${movingTo} in ${seconds} s`
          : `Lost the relay; retrying in ${seconds} s`
      }
      case 'relay-lost':
        return undefined
    }
  }
}

import { TabswarmError } from '@tabswarm/protocol'

/** Which of the relay's listeners could not bind its port. */
export type RelayListener = 'libp2p' | 'http'

const WHAT: Record<RelayListener, { name: string; flag: string; env: string }> = {
  libp2p: { name: 'libp2p WebSocket listener', flag: '--p2p-port', env: 'TABSWARM_P2P_PORT' },
  http: { name: 'HTTP server', flag: '--port', env: 'TABSWARM_HTTP_PORT' },
}

/**
 * The relay could not start: another process holds one of its ports (most often a relay
 * started before). Thrown by `startTabswarm` once everything it had started is stopped
 * again, so nothing is left listening; the CLI prints the message and exits 1.
 */
export class PortInUseError extends TabswarmError {
  override name = 'PortInUseError' as const
  declare readonly code: 'PORT_IN_USE'
  readonly port: number
  readonly host: string
  readonly listener: RelayListener

  constructor(options: { listener: RelayListener; host: string; port: number; cause?: unknown }) {
    const { listener, host, port } = options
    const what = WHAT[listener]
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    super(
      `port ${port} is in use (${what.name} on ${address}); another relay may be running there. ` +
        `Stop it, or choose another port with ${what.flag} (env ${what.env})`,
      { code: 'PORT_IN_USE', ...(options.cause !== undefined ? { cause: options.cause } : {}) },
    )
    this.listener = listener
    this.host = host
    this.port = port
  }
}

/** Whether `err` is Node's "address already in use" (or says so, as libp2p's text does). */
export function isAddressInUse(err: unknown): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') return true
  return err instanceof Error && /\bEADDRINUSE\b/.test(err.message)
}

/**
 * The listen multiaddr libp2p could not bind because its port was taken, read from its
 * `UnsupportedListenAddressesError`, which lists each failed address and its error's text
 * (`/ip4/127.0.0.1/tcp/8788/ws: listen EADDRINUSE: ...`) and nothing structured.
 */
export function busyListenAddress(
  err: unknown,
): { host: string; port: number; multiaddr: string } | undefined {
  if (!(err instanceof Error)) return undefined
  for (const line of err.message.split('\n')) {
    const match = /^\s*(\/ip[46]\/([^/\s]+)\/tcp\/(\d+)\S*):.*\bEADDRINUSE\b/.exec(line)
    if (match != null) return { multiaddr: match[1]!, host: match[2]!, port: Number(match[3]) }
  }
  return undefined
}

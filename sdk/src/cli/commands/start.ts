import { parseArgs } from 'node:util'
import { configFromEnv, parsePort, startTabswarm } from '@tabswarm/relay'

export const startHelp = `Usage: tabswarm start [options]

Starts the relay/coordinator on embedded defaults: the libp2p relay, the coordinator, the
HTTP API and the contributor page. Stops cleanly on Ctrl-C.

Options:
  --host <addr>       interface to bind            (env TABSWARM_HOST, default 127.0.0.1)
  --port <n>          HTTP port, 0 = any free one  (env TABSWARM_HTTP_PORT, default 8787)
  --p2p-port <n>      libp2p WebSocket port        (env TABSWARM_P2P_PORT, default 8788)
  --data-dir <dir>    durable state                (env TABSWARM_DATA_DIR, default ./data)
  --announce <addrs>  comma-separated multiaddrs to announce (env TABSWARM_ANNOUNCE)
  --json              print the start-up line as JSON
  -h, --help          show this help`

export async function startCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'p2p-port': { type: 'string' },
      'data-dir': { type: 'string' },
      announce: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const config = configFromEnv()
  if (values.host) config.host = values.host
  if (values.port) config.httpPort = parsePort('--port', values.port)
  if (values['p2p-port']) config.p2pPort = parsePort('--p2p-port', values['p2p-port'])
  if (values['data-dir']) config.dataDir = values['data-dir']
  if (values.announce) config.announce = values.announce.split(',').map((s) => s.trim())

  const running = await startTabswarm(config)
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ url: running.url, multiaddrs: running.multiaddrs })}\n`,
    )
  } else {
    process.stdout.write(
      `Tabswarm is running. Contribute: open ${running.url} in a browser with WebGPU.\n`,
    )
    process.stdout.write(`Relay: ${running.multiaddrs.join(' ')}\n`)
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await running.stop()
  return 0
}

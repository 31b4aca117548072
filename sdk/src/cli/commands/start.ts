import { parseArgs } from 'node:util'
import {
  configFromEnv,
  parseMultiaddrList,
  parsePort,
  startTabswarm,
  type TabswarmConfig,
} from '@tabswarm/relay'
import { ExitCode } from '../exit-codes.ts'
import { UsageError } from '../usage-error.ts'

export const startHelp = `Usage: tabswarm start [options]

Starts the relay/coordinator on embedded defaults: the libp2p relay, the coordinator, the
HTTP API and the contributor page. Stops cleanly on Ctrl-C (or SIGTERM).

Options:
  --host <addr>       interface to bind            (env TABSWARM_HOST, default 127.0.0.1)
  --port <n>          HTTP port, 0 = any free one  (env TABSWARM_HTTP_PORT, default 8787)
  --p2p-port <n>      libp2p WebSocket port        (env TABSWARM_P2P_PORT, default 8788)
  --data-dir <dir>    durable state                (env TABSWARM_DATA_DIR, default ./data)
  --listen <addrs>    comma-separated libp2p multiaddrs to listen on, instead of one
                      WebSocket listener on --host:--p2p-port (env TABSWARM_LISTEN)
  --announce <addrs>  comma-separated multiaddrs to announce (env TABSWARM_ANNOUNCE)
  --json              print the start-up line as JSON
  -h, --help          show this help`

/** Runs a relay config parser, turning its plain errors into usage errors (exit code 2). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/** The relay's config: environment variables, then flags over them. */
function configFrom(values: {
  host?: string | undefined
  port?: string | undefined
  'p2p-port'?: string | undefined
  'data-dir'?: string | undefined
  listen?: string | undefined
  announce?: string | undefined
}): TabswarmConfig {
  const config = asUsage(() => configFromEnv())
  if (values.host) config.host = values.host
  if (values.port != null) config.httpPort = asUsage(() => parsePort('--port', values.port!))
  if (values['p2p-port'] != null)
    config.p2pPort = asUsage(() => parsePort('--p2p-port', values['p2p-port']!))
  if (values['data-dir']) config.dataDir = values['data-dir']
  if (values.listen != null)
    config.listen = asUsage(() => parseMultiaddrList('--listen', values.listen!))
  if (values.announce != null)
    config.announce = asUsage(() => parseMultiaddrList('--announce', values.announce!))
  return config
}

/** `tabswarm start`: runs the relay until `signal` aborts (Ctrl-C, SIGTERM), then stops it cleanly. */
export async function startCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'p2p-port': { type: 'string' },
      'data-dir': { type: 'string' },
      listen: { type: 'string' },
      announce: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const config = configFrom(values)

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
  // The CLI aborts the signal on Ctrl-C or SIGTERM: then stop cleanly (the store is closed).
  if (!signal.aborted)
    await new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    )
  await running.stop()
  return ExitCode.OK
}

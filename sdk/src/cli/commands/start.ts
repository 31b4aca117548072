import { parseArgs } from 'node:util'
import {
  checkConfig,
  configFromEnv,
  defaultConfig,
  type IntegerRange,
  integerSetting,
  parseMultiaddrList,
  parsePort,
  SITE_SHARE_BPS_RANGE,
  startTabswarm,
  type TabswarmConfig,
  UPLOAD_SETTING_RANGES,
  WORK_SETTING_RANGES,
} from '@tabswarm/relay'
import { ExitCode } from '../exit-codes.ts'
import { UsageError } from '../usage-error.ts'

const WORK = WORK_SETTING_RANGES
const UPLOADS = UPLOAD_SETTING_RANGES
/** A setting's range for the help, from the ranges the parser checks, so the two agree. */
const range = (r: IntegerRange) => `${r.min}-${r.max}`

export const startHelp = `Usage: tabswarm start [options]

Starts the relay/coordinator on embedded defaults: the libp2p relay, the coordinator, the
HTTP API and the contributor page. Stops cleanly on Ctrl-C (or SIGTERM).

Options:
  --host <addr>       interface to bind            (env TABSWARM_HOST, default 127.0.0.1)
  --port <n>          HTTP port, 0 = any free one  (env TABSWARM_HTTP_PORT, default 8787)
  --p2p-port <n>      libp2p WebSocket port        (env TABSWARM_P2P_PORT, default 8788)
  --data-dir <dir>    durable state                (env TABSWARM_DATA_DIR, default ./data)
  --database <url>    a PostgreSQL URL shared by several relays, instead of SQLite under
                      the data directory (env TABSWARM_DATABASE_URL): each job runs on one
                      relay at a time, and another takes it over when that one dies
  --blob-dir <dir>    large blobs; relays sharing a database share it too
                      (env TABSWARM_BLOB_DIR, default <data dir>/blobs)
  --listen <addrs>    comma-separated libp2p multiaddrs to listen on, instead of one
                      WebSocket listener on --host:--p2p-port (env TABSWARM_LISTEN)
  --announce <addrs>  comma-separated multiaddrs to announce (env TABSWARM_ANNOUNCE)
  --no-peer-inputs    send every task input from the relay, naming no peer providers
                      in leases (env TABSWARM_PEER_INPUTS=off, default on)

Limits (each flag over its env variable):
  --work-read-idle-ms <ms>     cut a work stream silent this long while its request is
                               read, ${range(WORK.workReadIdleTimeoutMs)} (env TABSWARM_WORK_READ_IDLE_MS,
                               default ${defaultConfig.workReadIdleTimeoutMs})
  --max-inflight-bytes-per-peer <bytes>
                               result bytes one peer may have in flight, ${range(WORK.maxInflightBytesPerPeer)}
                               (env TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER, default ${defaultConfig.maxInflightBytesPerPeer})
  --uploads-per-account <n>    blob uploads one account may send at once, ${range(UPLOADS.uploadsPerAccount)}
                               (env TABSWARM_UPLOADS_PER_ACCOUNT, default ${defaultConfig.api.uploads.perAccount})
  --uploads-total <n>          blob uploads the relay receives at once, ${range(UPLOADS.uploadsTotal)}
                               (env TABSWARM_UPLOADS_TOTAL, default ${defaultConfig.api.uploads.total})
  --upload-timeout-ms <ms>     longest one upload may take, ${range(UPLOADS.uploadTimeoutMs)}
                               (env TABSWARM_UPLOAD_TIMEOUT_MS, default ${defaultConfig.api.uploadTimeoutMs})
  --upload-idle-ms <ms>        cut an upload silent this long (408), ${range(UPLOADS.uploadIdleMs)},
                               at most the upload timeout (env TABSWARM_UPLOAD_IDLE_MS,
                               default ${defaultConfig.api.uploadIdleMs})

Credits:
  --site-share-bps <bps>       share of a widget contributor's verified earnings paid to
                               the site it joined through, ${range(SITE_SHARE_BPS_RANGE)}
                               (env TABSWARM_SITE_SHARE_BPS, default ${defaultConfig.siteShareBps} = 10%)

Settlement (credits paid as tokens on chain; environment only):
  TABSWARM_SETTLEMENT          embedded (default: a local development chain in process,
                               contracts deployed at each start, stored roots posted again),
                               chain (an external chain, below) or off
  TABSWARM_CHAIN_PORT          the embedded chain's JSON-RPC port, 0 = any free one (default 8545)
  TABSWARM_CHAIN_RPC_URL, TABSWARM_SETTLEMENT_KEY, TABSWARM_DISTRIBUTOR_ADDRESS,
  TABSWARM_TOKEN_ADDRESS       an external chain: JSON-RPC URL, root poster's private key,
                               contract addresses (all four needed)
  TABSWARM_CHAIN_PUBLIC_RPC_URL  the JSON-RPC URL pages are told to use
  TABSWARM_EPOCH_MINUTES       minutes between epochs, 0 = only on demand (default 10)
  TABSWARM_UNITS_PER_CREDIT    token base units per ledger credit (default 1)
  TABSWARM_SETTLEMENT_OPERATORS  API-key accounts that may close epochs (default operator)

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

/** An integer flag, checked against the range its env variable accepts. */
function integerFlag(
  flag: string,
  raw: string | undefined,
  range: IntegerRange,
): number | undefined {
  return raw == null ? undefined : asUsage(() => integerSetting(flag, raw, range))
}

/**
 * The relay's config: environment variables, then flags over them, then the checks between
 * settings (an upload flag may fix what its env variable alone would break).
 */
export function configFrom(
  values: {
    host?: string | undefined
    port?: string | undefined
    'p2p-port'?: string | undefined
    'data-dir'?: string | undefined
    database?: string | undefined
    'blob-dir'?: string | undefined
    listen?: string | undefined
    announce?: string | undefined
    'work-read-idle-ms'?: string | undefined
    'max-inflight-bytes-per-peer'?: string | undefined
    'uploads-per-account'?: string | undefined
    'uploads-total'?: string | undefined
    'upload-timeout-ms'?: string | undefined
    'upload-idle-ms'?: string | undefined
    'no-peer-inputs'?: boolean | undefined
    'site-share-bps'?: string | undefined
  },
  env: Record<string, string | undefined> = process.env,
): TabswarmConfig {
  const config = asUsage(() => configFromEnv(env, { check: false }))
  if (values.host) config.host = values.host
  if (values.port != null) config.httpPort = asUsage(() => parsePort('--port', values.port!))
  if (values['p2p-port'] != null)
    config.p2pPort = asUsage(() => parsePort('--p2p-port', values['p2p-port']!))
  if (values['data-dir']) config.dataDir = values['data-dir']
  if (values.database) config.databaseUrl = values.database
  if (values['blob-dir']) config.blobDir = values['blob-dir']
  if (values.listen != null)
    config.listen = asUsage(() => parseMultiaddrList('--listen', values.listen!))
  if (values.announce != null)
    config.announce = asUsage(() => parseMultiaddrList('--announce', values.announce!))
  const readIdle = integerFlag(
    '--work-read-idle-ms',
    values['work-read-idle-ms'],
    WORK.workReadIdleTimeoutMs,
  )
  if (readIdle != null) config.workReadIdleTimeoutMs = readIdle
  const perPeer = integerFlag(
    '--max-inflight-bytes-per-peer',
    values['max-inflight-bytes-per-peer'],
    WORK.maxInflightBytesPerPeer,
  )
  if (perPeer != null) config.maxInflightBytesPerPeer = perPeer
  const perAccount = integerFlag(
    '--uploads-per-account',
    values['uploads-per-account'],
    UPLOADS.uploadsPerAccount,
  )
  if (perAccount != null) config.api.uploads.perAccount = perAccount
  const total = integerFlag('--uploads-total', values['uploads-total'], UPLOADS.uploadsTotal)
  if (total != null) config.api.uploads.total = total
  const timeout = integerFlag(
    '--upload-timeout-ms',
    values['upload-timeout-ms'],
    UPLOADS.uploadTimeoutMs,
  )
  if (timeout != null) config.api.uploadTimeoutMs = timeout
  const idle = integerFlag('--upload-idle-ms', values['upload-idle-ms'], UPLOADS.uploadIdleMs)
  if (idle != null) config.api.uploadIdleMs = idle
  if (values['no-peer-inputs'] === true) config.peerInputs = false
  const siteShare = integerFlag('--site-share-bps', values['site-share-bps'], SITE_SHARE_BPS_RANGE)
  if (siteShare != null) config.siteShareBps = siteShare
  asUsage(() => checkConfig(config))
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
      database: { type: 'string' },
      'blob-dir': { type: 'string' },
      listen: { type: 'string' },
      announce: { type: 'string' },
      'work-read-idle-ms': { type: 'string' },
      'max-inflight-bytes-per-peer': { type: 'string' },
      'uploads-per-account': { type: 'string' },
      'uploads-total': { type: 'string' },
      'upload-timeout-ms': { type: 'string' },
      'upload-idle-ms': { type: 'string' },
      'no-peer-inputs': { type: 'boolean', default: false },
      'site-share-bps': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const config = configFrom(values)

  const running = await startTabswarm(config)
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        url: running.url,
        multiaddrs: running.multiaddrs,
        ...(running.settlement ? { settlement: running.settlement } : {}),
      })}\n`,
    )
  } else {
    process.stdout.write(
      `Tabswarm is running. Contribute: open ${running.url} in a browser with WebGPU.\n`,
    )
    process.stdout.write(`Relay: ${running.multiaddrs.join(' ')}\n`)
    const settlement = running.settlement
    if (settlement)
      process.stdout.write(
        `Settlement: chain ${settlement.chainId}${settlement.rpcUrl ? ` at ${settlement.rpcUrl}` : ''}, ` +
          `token ${settlement.token}, distributor ${settlement.distributor}\n`,
      )
  }
  // The CLI aborts the signal on Ctrl-C or SIGTERM: then stop cleanly (the store is closed).
  if (!signal.aborted)
    await new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    )
  await running.stop()
  return ExitCode.OK
}

import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_MESSAGE_BYTES } from '@tabswarm/protocol'
import {
  type ApiConfig,
  apiConfigFromEnv,
  checkUploadSettings,
  defaultApiConfig,
} from './http/api-config.ts'
import { type IntegerRange, integerSetting } from './integer-setting.ts'
import {
  defaultSettlementConfig,
  type SettlementConfig,
  settlementConfigFromEnv,
} from './settlement/settlement-config.ts'
import { checkDatabaseUrl } from './store/postgres/postgres-pool.ts'
import { type IceServer, parseIceServers } from './swarm/ice-servers.ts'
import { DEFAULT_MAX_INFLIGHT_BYTES } from './swarm/work-service.ts'

/** Everything `tabswarm start` needs; every field has an embedded default. */
export interface TabswarmConfig {
  /** Interface the HTTP server and the libp2p listener bind to. @default '127.0.0.1' */
  host: string
  /** HTTP port for the pages and the API; 0 picks a free one. @default 8787 */
  httpPort: number
  /** libp2p WebSocket port; 0 picks a free one. @default 8788 */
  p2pPort: number
  /** Where durable state (the relay key) lives. @default './data' */
  dataDir: string
  /**
   * A PostgreSQL URL (`postgres://…`) that several relay/coordinators share: jobs, results
   * and credits live there instead of `<dataDir>/coordinator.db`, each job run by one
   * coordinator at a time and taken over when its coordinator dies. `--database`,
   * `TABSWARM_DATABASE_URL`. @default none: SQLite under the data directory
   */
  databaseUrl?: string
  /**
   * Where large blobs (job inputs, big outputs) live. Relays sharing a database must share
   * it too (one machine, or a network file system). `--blob-dir`, `TABSWARM_BLOB_DIR`.
   * @default `<dataDir>/blobs`
   */
  blobDir?: string
  /** Built web assets (`npm run build:web`). @default `web/dist` of this checkout */
  webRoot: string
  /** Multiaddrs to announce instead of the listen ones, e.g. `/dns4/swarm.example/tcp/443/wss`. */
  announce: string[]
  /**
   * libp2p listen multiaddrs. Empty means one WebSocket listener on `host`:`p2pPort`.
   * Set it to listen on several interfaces, or on `/tcp/<port>/ws` behind a TLS proxy
   * that terminates `wss` (then announce the proxy's `/dns4/<domain>/tcp/443/wss`).
   * @default []
   */
  listen: string[]
  /**
   * STUN/TURN servers handed to tabs for WebRTC between them (in `/v1/swarm`). Empty
   * works on one host or LAN; tabs behind NATs need at least a STUN server.
   * @default []
   */
  iceServers: IceServer[]
  /** Peers (tabs, workers, clients) the relay holds at once, and its reservations. @default 1024 */
  maxPeers: number
  /**
   * Output tile edge for matmul jobs; 0 sizes each job's tiles at submit from the online
   * contributors' measured speed, so a task takes 0.2–5 s (about 1 s) of GPU time
   * (`autoTileEdge`). @default 0
   */
  tileSize: number
  /** How long a contributor holds a task. @default 60_000 */
  leaseMs: number
  /**
   * Compile custom kernels' WGSL at submit on a GPU adapter of the relay's own (dawn, in a
   * child process; SwiftShader does), refusing one that does not compile with its
   * `line:column`. Without an adapter, jobs are accepted and contributors' reports decide.
   * `TABSWARM_WGSL_CHECK=0` turns it off.
   * @default true
   */
  wgslCheck: boolean
  /**
   * SQLite `synchronous` of the coordinator's database: `normal` survives a crash of the
   * process at once and of the machine once checkpointed; `full` fsyncs every commit.
   * @default 'normal'
   */
  dbSynchronous: 'normal' | 'full'
  /**
   * Longest silence on a work stream while the relay reads a request (its first byte
   * included), from `TABSWARM_WORK_READ_IDLE_MS`: a stream that sends nothing for this long
   * is cut with `STREAM_IDLE` and its share of the byte budget freed, so peers that declare
   * large results and never send them cannot stall the work protocol. A slow result that
   * keeps arriving is bounded by the 60 s request deadline alone. Raise it for contributors
   * on links that pause for seconds. 1_000 to 60_000 ms.
   * @default 5_000
   */
  workReadIdleTimeoutMs: number
  /**
   * Bytes of result payloads one peer may hold or wait for at once on the work protocol,
   * from `TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER`: a few peers cannot take the whole byte
   * budget (256 MiB). An honest contributor sends one result at a time, so one largest
   * message is enough; at least that (64 MiB), or its largest results would be refused, and
   * at most the whole budget.
   * @default 67_108_864 (MAX_MESSAGE_BYTES, 64 MiB)
   */
  maxInflightBytesPerPeer: number
  /**
   * Name contributors that announced holding a lease's inputs as their providers, so tabs
   * fetch job data from each other before the relay. `TABSWARM_PEER_INPUTS=off` (or
   * `--no-peer-inputs`) sends every input from the relay: to measure the same job
   * all-from-relay, or where peers cannot reach each other.
   * @default true
   */
  peerInputs: boolean
  /**
   * Fraction of inference results (pipeline stages, batches) the relay recomputes on its
   * CPU reference when a job's policy names no `spotCheck`, 0 to 1, from
   * `TABSWARM_INFERENCE_SPOT_CHECK`. The others are replicated among newcomers and taken on
   * credibility from trusted contributors.
   * @default 0.05
   */
  inferenceSpotCheckRate: number
  /**
   * Memory assumed of a contributor that states no memory cap, when a pipeline without
   * `stages` is split to fit, from `TABSWARM_INFERENCE_MEMORY_BYTES`: 16 MiB to 1 TiB.
   * @default 1_073_741_824 (1 GiB)
   */
  inferenceMemoryBytes: number
  /**
   * Credits granted to an account the first time it submits a job (0: none). Unset: see
   * `welcomeCreditsFor` (on for an open loopback relay, off for a keyed or wallet one).
   */
  welcomeCredits?: bigint
  /**
   * Share of a contributor's verified earnings paid to the site whose widget it joined
   * through (the site its wallet binding names), in basis points: 0 (none) to 10000 (all).
   * Taken out of the contributor's earnings at payout, floored; the remainder stays with the
   * contributor. `TABSWARM_SITE_SHARE_BPS`.
   * @default 1000 (10%)
   */
  siteShareBps: number
  /** HTTP API: keys, wallet auth, rate limits, proxy trust, blob cap, uploads, log level. */
  api: ApiConfig
  /**
   * Where credits settle as tokens: an embedded development chain (the default), an
   * external chain (`TABSWARM_CHAIN_RPC_URL`, `TABSWARM_SETTLEMENT_KEY`,
   * `TABSWARM_DISTRIBUTOR_ADDRESS`, `TABSWARM_TOKEN_ADDRESS`), or off
   * (`TABSWARM_SETTLEMENT=off`); see `settlement-config.ts`.
   */
  settlement: SettlementConfig
}

export const defaultConfig: TabswarmConfig = {
  host: '127.0.0.1',
  httpPort: 8787,
  p2pPort: 8788,
  dataDir: 'data',
  webRoot: fileURLToPath(new URL('../../web/dist', import.meta.url)),
  announce: [],
  listen: [],
  iceServers: [],
  maxPeers: 1024,
  tileSize: 0,
  leaseMs: 60_000,
  wgslCheck: true,
  dbSynchronous: 'normal',
  workReadIdleTimeoutMs: 5_000,
  maxInflightBytesPerPeer: MAX_MESSAGE_BYTES,
  peerInputs: true,
  inferenceSpotCheckRate: 0.05,
  inferenceMemoryBytes: 1024 ** 3,
  siteShareBps: 1_000,
  api: defaultApiConfig,
  settlement: defaultSettlementConfig,
}

/** What `siteShareBps` accepts: basis points of a whole. */
export const SITE_SHARE_BPS_RANGE: IntegerRange = { min: 0, max: 10_000, unit: 'basis points' }

/**
 * What the work-protocol settings accept. The idle cut stays under the 60 s request deadline
 * (past it, it would never fire) and above a second (below, honest peers on a busy link are
 * cut); a peer's share fits one largest message and at most the whole budget.
 */
export const WORK_SETTING_RANGES = {
  workReadIdleTimeoutMs: { min: 1_000, max: 60_000, unit: 'ms' },
  maxInflightBytesPerPeer: {
    min: MAX_MESSAGE_BYTES,
    max: DEFAULT_MAX_INFLIGHT_BYTES,
    unit: 'bytes',
  },
} as const satisfies Record<string, IntegerRange>

/** What an open loopback relay grants each new account: plenty for local experiments. */
export const OPEN_RELAY_WELCOME_CREDITS = 1_000_000_000n

/**
 * Welcome credits the relay grants: `welcomeCredits` when set; otherwise
 * `OPEN_RELAY_WELCOME_CREDITS` on a relay open to its local user (so `tabswarm start` then
 * `tabswarm matmul` works out of the box), and none on a relay that takes API keys or
 * wallet signatures: there anyone can make accounts, and free credits paid to a
 * contributor wallet one controls would be minted money.
 */
export function welcomeCreditsFor(
  config: Pick<TabswarmConfig, 'welcomeCredits'>,
  openToLocal: boolean,
): bigint {
  return config.welcomeCredits ?? (openToLocal ? OPEN_RELAY_WELCOME_CREDITS : 0n)
}

function port(name: string, raw: string): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`${name} must be a port number from 0 to 65535, got "${raw}"`)
  }
  return value
}

function positive(name: string, raw: string): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`)
  return value
}

/** An on/off setting: `on`/`off` (also `1`/`0`, `true`/`false`), case-insensitive. */
function onOff(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase()
  if (value === 'on' || value === '1' || value === 'true') return true
  if (value === 'off' || value === '0' || value === 'false') return false
  throw new Error(`${name} must be "on" or "off", got "${raw}"`)
}

function multiaddrs(name: string, raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((text) => {
      try {
        return multiaddr(text).toString()
      } catch {
        throw new Error(`${name} has an invalid multiaddr "${text}"`)
      }
    })
}

/**
 * The checks between settings, once every source is applied (`configFromEnv` runs them;
 * the CLI again after its flags). Each setting's own range is checked where it is parsed.
 */
export function checkConfig(config: TabswarmConfig): void {
  checkUploadSettings(config.api)
  if (config.databaseUrl != null) checkDatabaseUrl(config.databaseUrl)
}

/**
 * Reads `TABSWARM_*` environment variables over the defaults. Flags (applied by the CLI)
 * take precedence over both; pass `{ check: false }` to apply them before `checkConfig`.
 */
export function configFromEnv(
  env: Record<string, string | undefined> = process.env,
  options: { check?: boolean } = {},
): TabswarmConfig {
  const config = { ...defaultConfig }
  if (env.TABSWARM_HOST) config.host = env.TABSWARM_HOST
  if (env.TABSWARM_HTTP_PORT) config.httpPort = port('TABSWARM_HTTP_PORT', env.TABSWARM_HTTP_PORT)
  if (env.TABSWARM_P2P_PORT) config.p2pPort = port('TABSWARM_P2P_PORT', env.TABSWARM_P2P_PORT)
  if (env.TABSWARM_DATA_DIR) config.dataDir = env.TABSWARM_DATA_DIR
  if (env.TABSWARM_DATABASE_URL) config.databaseUrl = env.TABSWARM_DATABASE_URL
  if (env.TABSWARM_BLOB_DIR) config.blobDir = env.TABSWARM_BLOB_DIR
  if (env.TABSWARM_WEB_ROOT) config.webRoot = env.TABSWARM_WEB_ROOT
  if (env.TABSWARM_ANNOUNCE)
    config.announce = multiaddrs('TABSWARM_ANNOUNCE', env.TABSWARM_ANNOUNCE)
  if (env.TABSWARM_LISTEN) config.listen = multiaddrs('TABSWARM_LISTEN', env.TABSWARM_LISTEN)
  if (env.TABSWARM_ICE_SERVERS) config.iceServers = parseIceServers(env.TABSWARM_ICE_SERVERS)
  if (env.TABSWARM_MAX_PEERS)
    config.maxPeers = positive('TABSWARM_MAX_PEERS', env.TABSWARM_MAX_PEERS)
  if (env.TABSWARM_TILE_SIZE)
    config.tileSize =
      env.TABSWARM_TILE_SIZE === '0' ? 0 : positive('TABSWARM_TILE_SIZE', env.TABSWARM_TILE_SIZE)
  if (env.TABSWARM_LEASE_MS) config.leaseMs = positive('TABSWARM_LEASE_MS', env.TABSWARM_LEASE_MS)
  if (env.TABSWARM_WGSL_CHECK) {
    if (env.TABSWARM_WGSL_CHECK !== '0' && env.TABSWARM_WGSL_CHECK !== '1')
      throw new Error(`TABSWARM_WGSL_CHECK must be "0" or "1", got "${env.TABSWARM_WGSL_CHECK}"`)
    config.wgslCheck = env.TABSWARM_WGSL_CHECK === '1'
  }
  if (env.TABSWARM_DB_SYNC) {
    if (env.TABSWARM_DB_SYNC !== 'normal' && env.TABSWARM_DB_SYNC !== 'full')
      throw new Error(`TABSWARM_DB_SYNC must be "normal" or "full", got "${env.TABSWARM_DB_SYNC}"`)
    config.dbSynchronous = env.TABSWARM_DB_SYNC
  }
  if (env.TABSWARM_WELCOME_CREDITS != null && env.TABSWARM_WELCOME_CREDITS !== '') {
    const raw = env.TABSWARM_WELCOME_CREDITS.trim()
    // Credits are exact integers: a decimal string, never read through a float.
    if (!/^(0|[1-9][0-9]{0,18})$/.test(raw) || BigInt(raw) > 2n ** 63n - 1n)
      throw new Error(
        `TABSWARM_WELCOME_CREDITS must be a non-negative integer of credits, at most 2^63-1, got "${env.TABSWARM_WELCOME_CREDITS}"`,
      )
    config.welcomeCredits = BigInt(raw)
  }
  if (env.TABSWARM_SITE_SHARE_BPS)
    config.siteShareBps = integerSetting(
      'TABSWARM_SITE_SHARE_BPS',
      env.TABSWARM_SITE_SHARE_BPS,
      SITE_SHARE_BPS_RANGE,
    )
  if (env.TABSWARM_WORK_READ_IDLE_MS)
    config.workReadIdleTimeoutMs = integerSetting(
      'TABSWARM_WORK_READ_IDLE_MS',
      env.TABSWARM_WORK_READ_IDLE_MS,
      WORK_SETTING_RANGES.workReadIdleTimeoutMs,
    )
  if (env.TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER)
    config.maxInflightBytesPerPeer = integerSetting(
      'TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER',
      env.TABSWARM_MAX_INFLIGHT_BYTES_PER_PEER,
      WORK_SETTING_RANGES.maxInflightBytesPerPeer,
    )
  if (env.TABSWARM_PEER_INPUTS)
    config.peerInputs = onOff('TABSWARM_PEER_INPUTS', env.TABSWARM_PEER_INPUTS)
  if (env.TABSWARM_INFERENCE_SPOT_CHECK) {
    const raw = env.TABSWARM_INFERENCE_SPOT_CHECK.trim()
    const rate = Number(raw)
    if (raw === '' || !(rate >= 0 && rate <= 1))
      throw new Error(
        `TABSWARM_INFERENCE_SPOT_CHECK must be a fraction from 0 to 1, got "${env.TABSWARM_INFERENCE_SPOT_CHECK}"`,
      )
    config.inferenceSpotCheckRate = rate
  }
  if (env.TABSWARM_INFERENCE_MEMORY_BYTES)
    config.inferenceMemoryBytes = integerSetting(
      'TABSWARM_INFERENCE_MEMORY_BYTES',
      env.TABSWARM_INFERENCE_MEMORY_BYTES,
      { min: 16 * 1024 ** 2, max: 1024 ** 4, unit: 'bytes' },
    )
  config.api = apiConfigFromEnv(env)
  config.settlement = settlementConfigFromEnv(env)
  if (options.check !== false) checkConfig(config)
  return config
}

export {
  multiaddrs as parseMultiaddrList,
  onOff as parseOnOff,
  port as parsePort,
  positive as parsePositiveInt,
}

import { fileURLToPath } from 'node:url'
import { type ApiConfig, apiConfigFromEnv, defaultApiConfig } from './http/api-config.ts'

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
  /** Built web assets (`npm run build:web`). @default `web/dist` of this checkout */
  webRoot: string
  /** Multiaddrs to announce instead of the listen ones, e.g. `/dns4/swarm.example/tcp/443/wss`. */
  announce: string[]
  /** Output tile edge for matmul jobs. @default 128 */
  tileSize: number
  /** How long a contributor holds a task. @default 60_000 */
  leaseMs: number
  /** HTTP API: keys, wallet auth, rate limits, proxy trust, blob cap, log level. */
  api: ApiConfig
}

export const defaultConfig: TabswarmConfig = {
  host: '127.0.0.1',
  httpPort: 8787,
  p2pPort: 8788,
  dataDir: 'data',
  webRoot: fileURLToPath(new URL('../../web/dist', import.meta.url)),
  announce: [],
  tileSize: 128,
  leaseMs: 60_000,
  api: defaultApiConfig,
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

/**
 * Reads `TABSWARM_*` environment variables over the defaults. Flags (applied by the CLI)
 * take precedence over both.
 */
export function configFromEnv(
  env: Record<string, string | undefined> = process.env,
): TabswarmConfig {
  const config = { ...defaultConfig }
  if (env.TABSWARM_HOST) config.host = env.TABSWARM_HOST
  if (env.TABSWARM_HTTP_PORT) config.httpPort = port('TABSWARM_HTTP_PORT', env.TABSWARM_HTTP_PORT)
  if (env.TABSWARM_P2P_PORT) config.p2pPort = port('TABSWARM_P2P_PORT', env.TABSWARM_P2P_PORT)
  if (env.TABSWARM_DATA_DIR) config.dataDir = env.TABSWARM_DATA_DIR
  if (env.TABSWARM_WEB_ROOT) config.webRoot = env.TABSWARM_WEB_ROOT
  if (env.TABSWARM_ANNOUNCE) config.announce = env.TABSWARM_ANNOUNCE.split(',').map((s) => s.trim())
  if (env.TABSWARM_TILE_SIZE)
    config.tileSize = positive('TABSWARM_TILE_SIZE', env.TABSWARM_TILE_SIZE)
  if (env.TABSWARM_LEASE_MS) config.leaseMs = positive('TABSWARM_LEASE_MS', env.TABSWARM_LEASE_MS)
  config.api = apiConfigFromEnv(env)
  return config
}

export { port as parsePort, positive as parsePositiveInt }

import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  defaultConfig,
  type Logger,
  type RunningTabswarm,
  type StartTabswarmOptions,
  startTabswarm,
  type TabswarmConfig,
} from '@tabswarm/relay'
import { freePort } from './free-port.ts'

/** One line a relay logged, kept for assertions. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error'
  component: string
  msg: string
  fields: Record<string, unknown>
}

/**
 * A logger that keeps what it is told, debug lines included (per-request lines are debug),
 * so tests can assert that something was logged.
 */
export function createRecordingLogger(
  lines: LogLine[] = [],
  component = 'tabswarm',
): Logger & { lines: LogLine[] } {
  const emit =
    (level: LogLine['level']) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      lines.push({ level, component, msg, fields })
    }
  return {
    lines,
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (name) => createRecordingLogger(lines, `${component}:${name}`),
  }
}

export interface InProcessRelay {
  running: RunningTabswarm
  config: TabswarmConfig
  log: Logger & { lines: LogLine[] }
  /** Uploads bytes to the relay's store over its HTTP API; resolves with their sha-256. */
  putBlob(bytes: Uint8Array): Promise<string>
  /** Stops the relay and starts it again on the same ports and data directory. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts the relay/coordinator in this process (real libp2p, real HTTP) on fixed free
 * ports and a temp data dir, serving the pages from `TABSWARM_WEB_ROOT` when set.
 */
export async function startInProcessRelay(
  overrides: Partial<TabswarmConfig> = {},
  /** What a cluster plugs in, e.g. the other relays its `/v1/swarm` lists (`peers`). */
  parts: StartTabswarmOptions = {},
): Promise<InProcessRelay> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tabswarm-swarm-'))
  const config: TabswarmConfig = {
    ...defaultConfig,
    ...(process.env.TABSWARM_WEB_ROOT ? { webRoot: process.env.TABSWARM_WEB_ROOT } : {}),
    host: '127.0.0.1',
    httpPort: await freePort(),
    p2pPort: await freePort(),
    dataDir,
    // Off unless a test asks for it (an embedded chain per relay is a cost most tests skip).
    settlement: { mode: 'off' },
    ...overrides,
  }
  const log = createRecordingLogger()
  const relay: InProcessRelay = {
    running: await startTabswarm(config, log, parts),
    config,
    log,
    async putBlob(bytes) {
      const response = await fetch(`${relay.running.url}/v1/blobs`, {
        method: 'PUT',
        body: bytes as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(30_000),
      })
      if (response.status !== 201)
        throw new Error(`PUT /v1/blobs answered ${response.status}: ${await response.text()}`)
      const { blob } = (await response.json()) as { blob: string }
      const hash = createHash('sha256').update(bytes).digest('hex')
      if (blob !== hash) throw new Error(`the relay stored ${hash} as ${blob}`)
      return hash
    },
    async restart() {
      await relay.running.stop()
      relay.running = await startTabswarm(config, log, parts)
    },
    async stop() {
      await relay.running.stop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
  return relay
}

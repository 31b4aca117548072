import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.ts'
import { runCli } from '../support/run-cli.ts'

/** Holds a loopback port with a plain TCP server, as another program would. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as { port: number }).port, server }
}

/** Whether a port can be bound now: nothing of the failed start listens there. */
async function bindable(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

describe('tabswarm start on a port that is taken', () => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function start(httpPort: number, p2pPort: number) {
    const dataDir = await mkdtemp(join(tmpdir(), 'tabswarm-port-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    // It must exit by itself: a listener or timer left behind would keep the process alive.
    return runCli(
      ['start', '--port', String(httpPort), '--p2p-port', String(p2pPort), '--data-dir', dataDir],
      { env: { TABSWARM_SETTLEMENT: 'off' }, timeoutMs: 60_000 },
    )
  }

  it('names the libp2p port, the other relay and --p2p-port, and exits 1', async () => {
    const held = await holdPort()
    cleanups.push(() => new Promise((resolve) => held.server.close(resolve)))
    const httpPort = await freePort()
    const result = await start(httpPort, held.port)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      `tabswarm: error: port ${held.port} is in use (libp2p WebSocket listener on 127.0.0.1:${held.port}); ` +
        'another relay may be running there. Stop it, or choose another port with --p2p-port (env TABSWARM_P2P_PORT)\n',
    )
    expect(result.stderr).not.toMatch(/faultTolerance/)
    expect(await bindable(httpPort)).toBe(true)
  })

  it('names the HTTP port and --port, exits 1, and closes the libp2p listener it had opened', async () => {
    const held = await holdPort()
    cleanups.push(() => new Promise((resolve) => held.server.close(resolve)))
    const p2pPort = await freePort()
    const result = await start(held.port, p2pPort)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      `tabswarm: error: port ${held.port} is in use (HTTP server on 127.0.0.1:${held.port}); ` +
        'another relay may be running there. Stop it, or choose another port with --port (env TABSWARM_HTTP_PORT)\n',
    )
    expect(await bindable(p2pPort)).toBe(true)
  })
})

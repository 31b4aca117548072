import { request } from 'node:http'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { WORK_PROTOCOL } from '@tabswarm/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { createNodeSwarmClient } from '../support/node-swarm-client.ts'

/**
 * The operator's limits reach the services that enforce them: `startTabswarm` passes the
 * work-protocol idle cut to the work service and the upload slots and idle cut to the HTTP
 * API (before, both ran on their built-in defaults whatever was configured). Each limit is
 * set well below its default, so the default would fail the assertion.
 */
describe('configured relay limits', () => {
  let relay: InProcessRelay
  let client: Libp2p | undefined

  beforeAll(async () => {
    relay = await startInProcessRelay({ workReadIdleTimeoutMs: 1_000 })
    relay.config.api = {
      ...relay.config.api,
      uploads: { perAccount: 1, total: 1 },
      uploadIdleMs: 1_000,
    }
    await relay.restart()
  }, 30_000)

  afterAll(async () => {
    await client?.stop()
    await relay?.stop()
  })

  it('cuts a silent work stream after workReadIdleTimeoutMs (default 5 s)', async () => {
    client = await createNodeSwarmClient()
    const relayAddr = multiaddr(relay.running.multiaddrs[0]!)
    const opened = performance.now()
    // Opened and then silent: what a peer that pins the budget does.
    await client.dialProtocol(relayAddr, WORK_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    const idleCuts = () =>
      relay.log.lines.filter(
        (l) => l.msg === 'protocol violation' && l.fields.code === 'STREAM_IDLE',
      ).length
    await expect.poll(idleCuts, { timeout: 3_500, interval: 100 }).toBe(1)
    expect(performance.now() - opened).toBeLessThan(3_500)
  })

  it('bounds uploads as configured: one in flight (429 for a second), cut after 1 s of silence', async () => {
    const url = new URL(relay.running.url)
    const put = (bytes: number, send: number) =>
      new Promise<number>((resolve, reject) => {
        const req = request({
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/v1/blobs',
          headers: { 'content-type': 'application/octet-stream', 'content-length': bytes },
          signal: AbortSignal.timeout(10_000),
        })
        req.on('response', (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
          req.destroy()
        })
        req.on('error', reject)
        req.write(new Uint8Array(send))
        if (send === bytes) req.end()
      })
    const started = performance.now()
    // Declares 1 MiB and sends 1 KiB, then nothing: it holds the one slot until the idle cut.
    const stalled = put(1024 * 1024, 1024)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await put(16, 16)).toBe(429)
    expect(await stalled).toBe(408)
    expect(performance.now() - started).toBeLessThan(5_000)
    // Its slot is free again.
    expect(await put(16, 16)).toBe(201)
  })
})

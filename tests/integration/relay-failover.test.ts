import type { ContributorEvent, ContributorWallet } from '@tabswarm/sdk/contributor'
import { bindWallet } from '@tabswarm/sdk/contributor'
import { runHeadlessWorker } from '@tabswarm/sdk/worker'
import type { KernelHost } from '@tabswarm/worker-kernels'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpuMatmulRunner } from '../support/cpu-matmul-runner.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { randomMatrix } from '../support/random-matrix.ts'

/** A CPU stand-in for the dawn host: right products. */
const cpuHost = {
  info: {
    vendor: 'cpu',
    architecture: '',
    device: '',
    description: 'cpu stand-in',
    features: [],
    limits: {},
  },
  ...cpuMatmulRunner(),
  destroy() {},
} as unknown as KernelHost

/** A wallet whose holder signs one binding only (as a visitor confirms one in a browser wallet). */
function signOnceWallet() {
  const signer = bindWallet(privateKeyToAccount(generatePrivateKey()))
  let proof: ReturnType<ContributorWallet['bind']> | undefined
  let signatures = 0
  const wallet: ContributorWallet = {
    address: signer.address,
    bind(peerId, signal) {
      if (proof == null) {
        signatures++
        proof = signer.bind(peerId, signal)
      }
      return proof
    },
  }
  return { wallet, signatures: () => signatures }
}

/**
 * Two relays of one cluster (each on its own SQLite here: the job is submitted to the
 * second), the first listing the second in `GET /v1/swarm`. A headless worker told only of
 * the first finds the second there, and when the first stops, moves to the second and
 * completes a job on it, with the wallet binding it signed once.
 */
describe('headless worker failover between relays', () => {
  let first: InProcessRelay
  let second: InProcessRelay
  let firstStopped = false
  beforeAll(async () => {
    second = await startInProcessRelay({ tileSize: 8 })
    first = await startInProcessRelay(
      { tileSize: 8 },
      {
        peers: async () => [
          {
            peerId: second.running.multiaddrs[0]!.split('/p2p/')[1]!,
            multiaddrs: second.running.multiaddrs,
            url: second.running.url,
          },
        ],
      },
    )
  }, 60_000)
  afterAll(async () => {
    if (!firstStopped) await first?.stop()
    await second?.stop()
  })

  it('moves to the other relay when its own stops, and completes a job there', async () => {
    const directory = (await (await fetch(`${first.running.url}/v1/swarm`)).json()) as {
      relays: Array<{ peerId: string }>
    }
    expect(directory.relays).toHaveLength(2)

    const events: ContributorEvent[] = []
    const { wallet, signatures } = signOnceWallet()
    const stop = new AbortController()
    const worker = runHeadlessWorker({
      relay: first.running.url,
      kernelHost: cpuHost,
      decoderStages: false,
      wallet,
      signal: stop.signal,
      onEvent: (event) => events.push(event),
    })
    worker.catch(() => {})
    try {
      await expect
        .poll(() => events.some((e) => e.type === 'connected'), { timeout: 20_000 })
        .toBe(true)
      expect(events.find((e) => e.type === 'connected')).toMatchObject({
        relay: expect.stringContaining(first.running.multiaddrs[0]!.split('/p2p/')[1]!),
      })

      firstStopped = true
      await first.stop()
      const [m, k, n] = [16, 8, 16]
      const a = randomMatrix(m, k, 11)
      const b = randomMatrix(k, n, 12)
      const job = second.running.coordinator.submitMatmul({ a, b, m, k, n })

      await expect
        .poll(async () => (await second.running.coordinator.getJob(job.id)).status, {
          timeout: 45_000,
          interval: 250,
        })
        .toBe('completed')

      const output = await second.running.coordinator.jobOutput(job.id)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let sum = 0
          for (let x = 0; x < k; x++) sum += a[i * k + x]! * b[x * n + j]!
          expect(output[i * n + j]).toBeCloseTo(sum, 3)
        }
      const failover = events.find((e) => e.type === 'relay-failover')
      expect(failover).toMatchObject({
        to: expect.stringContaining(second.running.multiaddrs[0]!.split('/p2p/')[1]!),
      })
      // Every wait on the way said what it waited for.
      for (const e of events.filter((e) => e.type === 'relay-error'))
        expect(e).toMatchObject({ error: expect.any(String), retryInMs: expect.any(Number) })
      // Said hello at both relays with the one binding: failing over needs no new signature.
      expect(events.filter((e) => e.type === 'connected')).toHaveLength(2)
      expect(signatures()).toBe(1)
    } finally {
      stop.abort()
      await worker.catch(() => undefined)
    }
  }, 90_000)
})

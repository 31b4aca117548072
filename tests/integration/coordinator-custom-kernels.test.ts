import { multiaddr } from '@multiformats/multiaddr'
import { RelayRefusalError } from '@tabswarm/protocol'
import { type ContributorEvent, runContributor } from '@tabswarm/sdk/contributor'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { createNodeSwarmClient } from '../support/node-swarm-client.ts'

/**
 * A custom WGSL job over the real work protocol (libp2p, a `wgsl` lease, inputs over the
 * blob protocol, one `result`):
 * contributors run a stand-in executor on the CPU, one of them returns wrong outputs; a
 * fixed quorum of two decides.
 */
describe('custom kernels through the work protocol', () => {
  let relay: InProcessRelay
  beforeAll(async () => {
    relay = await startInProcessRelay()
  }, 30_000)
  afterAll(async () => {
    await relay?.stop()
  })

  async function contributor(name: string, wrong: boolean, signal: AbortSignal) {
    const node = await createNodeSwarmClient()
    const events: ContributorEvent[] = []
    const done = runContributor({
      node,
      relay: multiaddr(relay.running.multiaddrs[0]!),
      signal,
      gflops: false,
      capabilities: {
        adapter: { vendor: 'cpu', architecture: '', device: '', description: name },
        features: [],
        limits: {},
        kernels: ['matmul', 'custom'],
        agent: 'tests/integration/coordinator-custom-kernels',
      },
      executor: {
        async run(req) {
          if (req.kernel !== 'custom') throw new Error(`${req.kernel} not expected here`)
          const x = req.inputs[0] as Float32Array
          const scale = new Float32Array(req.params!.buffer, req.params!.byteOffset, 1)[0]!
          return [Float32Array.from(x, (v) => v * scale + (wrong ? 1 : 0))] as never
        },
      },
      onEvent: (e) => events.push(e),
    })
      // The wrong contributor may be banned for its faults before the job completes: its loop
      // then ends with the ban, which is this test's point, not a failure. Caught here, at
      // once, so the rejection is never left unhandled while the job runs.
      .catch((err: unknown) => {
        if (wrong && err instanceof RelayRefusalError && err.code === 'CONTRIBUTOR_BANNED')
          return 'banned' as const
        throw err
      })
      .finally(() => node.stop())
    return { events, done }
  }

  it('leases custom tasks with their inputs and params, and accepts outputs two contributors agree on', async () => {
    const url = relay.running.url
    const put = async (values: number[]) => {
      const res = await fetch(`${url}/v1/blobs`, {
        method: 'PUT',
        body: new Uint8Array(new Float32Array(values).buffer),
        headers: { 'content-type': 'application/octet-stream' },
      })
      expect(res.status).toBe(201)
      return ((await res.json()) as { blob: string }).blob
    }
    const inputs = [await put([1, 2, 3, 4]), await put([5, 6, 7, 8]), await put([-1, 0, 1, 2])]
    const params = Buffer.from(new Float32Array([3]).buffer).toString('base64')
    const job = await relay.running.coordinator.submit(
      {
        kernel: 'custom',
        program: {
          wgsl: '@compute @workgroup_size(4) fn main() {}',
          inputs: [{ name: 'x', dtype: 'float32' }],
          outputs: [{ name: 'y', dtype: 'float32' }],
        },
        tasks: inputs.map((blob) => ({
          inputs: [{ blob, dtype: 'float32', shape: [4] }],
          outputs: [{ shape: [4], dtype: 'float32' }],
          workgroups: [1, 1, 1],
          params,
        })),
        verification: { replication: 2, canaries: 0 },
      },
      { account: 'local' },
    )
    const controller = new AbortController()
    const workers = await Promise.all([
      contributor('honest-1', false, controller.signal),
      contributor('honest-2', false, controller.signal),
      contributor('wrong', true, controller.signal),
    ])
    try {
      await expect
        .poll(async () => (await relay.running.coordinator.getJob(job.id)).status, {
          timeout: 30_000,
          interval: 200,
        })
        .toBe('completed')
    } finally {
      controller.abort()
      await Promise.all(workers.map((w) => w.done))
    }
    const { results } = await relay.running.coordinator.results(job.id)
    expect(results).toHaveLength(3)
    const expected = [
      [3, 6, 9, 12],
      [15, 18, 21, 24],
      [-3, 0, 3, 6],
    ]
    for (const result of results) {
      expect(result.method).toBe('replication')
      const res = await fetch(`${url}/v1/blobs/${result.outputs[0]!.blob}`)
      const values = [...new Float32Array(await res.arrayBuffer())]
      expect(values).toEqual(expected[result.index])
    }
    const wrongOutcomes = workers[2]!.events.filter((e) => e.type === 'task-finished')
    expect(wrongOutcomes.every((e) => e.type === 'task-finished' && e.outcome !== 'accepted')).toBe(
      true,
    )
  }, 60_000)
})

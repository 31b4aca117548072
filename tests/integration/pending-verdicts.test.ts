import { multiaddr } from '@multiformats/multiaddr'
import { type ContributorEvent, runContributor } from '@tabswarm/sdk/contributor'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { createNodeSwarmClient } from '../support/node-swarm-client.ts'

/**
 * Over the real work protocol (libp2p, a real relay and coordinator): two contributors
 * answer each task of a job with a quorum of two. Whoever answers a task first is told
 * `pending`; once the other agrees, the relay tells the first on its next answer, and its
 * contributor loop emits `task-verdict`, so a page's "awaiting agreement" falls back to 0.
 */
describe('verdicts of pending results over the work protocol', () => {
  let relay: InProcessRelay
  beforeAll(async () => {
    relay = await startInProcessRelay()
  }, 30_000)
  afterAll(async () => {
    await relay?.stop()
  })

  async function contributor(name: string, signal: AbortSignal) {
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
        kernels: ['custom'],
        agent: 'tests/integration/pending-verdicts',
      },
      executor: {
        async run(req) {
          if (req.kernel !== 'custom') throw new Error(`${req.kernel} not expected here`)
          const x = req.inputs[0] as Float32Array
          return [Float32Array.from(x, (v) => v * 2)] as never
        },
      },
      onEvent: (e) => events.push(e),
    }).finally(() => node.stop())
    return { events, done }
  }

  it('turns each contributor’s pending results into accepted verdicts once the other agrees', async () => {
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
    const inputs = [await put([1, 2, 3, 4]), await put([5, 6, 7, 8]), await put([9, 10, 11, 12])]
    const job = await relay.running.coordinator.submit(
      {
        kernel: 'custom',
        name: 'doubling',
        program: {
          wgsl: '@compute @workgroup_size(4) fn main() {}',
          inputs: [{ name: 'x', dtype: 'float32' }],
          outputs: [{ name: 'y', dtype: 'float32' }],
        },
        tasks: inputs.map((blob) => ({
          inputs: [{ blob, dtype: 'float32', shape: [4] }],
          outputs: [{ shape: [4], dtype: 'float32' }],
          workgroups: [1, 1, 1],
        })),
        verification: { replication: 2, canaries: 0 },
      },
      { account: 'local' },
    )
    const controller = new AbortController()
    const workers = await Promise.all([
      contributor('first', controller.signal),
      contributor('second', controller.signal),
    ])
    const all = () => workers.flatMap((w) => w.events)
    try {
      await expect
        .poll(async () => (await relay.running.coordinator.getJob(job.id)).status, {
          timeout: 30_000,
          interval: 100,
        })
        .toBe('completed')
      // Every task was answered by both: one `pending`, then one `accepted` after it. The
      // pending one's verdict comes on that contributor's next answer (a no-work now).
      await expect
        .poll(() => all().filter((e) => e.type === 'task-verdict').length, {
          timeout: 15_000,
          interval: 100,
        })
        .toBe(inputs.length)
    } finally {
      controller.abort()
      await Promise.all(workers.map((w) => w.done))
    }
    for (const { events } of workers) {
      const pending = events
        .filter((e) => e.type === 'task-finished' && e.outcome === 'pending')
        .map((e) => (e as { taskId: string }).taskId)
      const verdicts = events.filter((e) => e.type === 'task-verdict')
      expect(verdicts).toEqual(
        pending.map((taskId) => ({ type: 'task-verdict', taskId, outcome: 'accepted' })),
      )
      // Each task-started says what it belongs to.
      for (const started of events.filter((e) => e.type === 'task-started'))
        expect(started).toMatchObject({
          job: { name: 'doubling', kernel: 'custom', tasksTotal: inputs.length },
        })
    }
    const finished = all().filter((e) => e.type === 'task-finished')
    expect(
      finished.filter((e) => e.type === 'task-finished' && e.outcome === 'pending'),
    ).toHaveLength(inputs.length)
  }, 60_000)
})

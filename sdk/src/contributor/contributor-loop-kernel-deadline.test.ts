import { packTensors, type WorkRequest, type WorkResponse } from '@tabswarm/protocol'
import { KernelTimeoutError } from '@tabswarm/worker-kernels'
import { describe, expect, it } from 'vitest'
import type { ContributorEvent } from './contributor-events.ts'
import { type KernelExecutor, runContributor } from './contributor-loop.ts'
import type { WorkChannel } from './work-channel.ts'

/** Long enough that timer jitter on a loaded machine stays well inside the margin (500 ms). */
const LEASE_MS = 2_000

const capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: 'fake' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'test',
}

/**
 * A relay under load: it grants one `LEASE_MS` lease, its renewals never get through, and a
 * task error that arrives once the lease has expired is stale, as the coordinator's is.
 */
function loadedRelay() {
  let expiresAt = Number.POSITIVE_INFINITY
  const reports: Array<{ request: WorkRequest; msBeforeExpiry: number; outcome: string }> = []
  const { slots, payload } = packTensors([
    { name: 'a', shape: [1, 1], data: new Float32Array([2]) },
    { name: 'b', shape: [1, 1], data: new Float32Array([3]) },
  ])
  let leases = 1
  const channel: WorkChannel = {
    peerId: 'peer-test',
    relay: '/memory/relay',
    async exchange(request) {
      const answer = (header: WorkResponse, body: Uint8Array = new Uint8Array()) => ({
        header,
        payload: body,
      })
      switch (request.type) {
        case 'hello':
          return answer({ type: 'hello-ack', peerId: 'peer-test' })
        case 'lease-request':
          if (leases-- <= 0) return answer({ type: 'no-work', retryAfterMs: 20 })
          expiresAt = performance.now() + LEASE_MS
          return answer(
            {
              type: 'lease',
              leaseId: 'lease-1',
              jobId: 'job-1',
              taskId: 'task-1',
              kernel: 'matmul',
              args: { m: 1, k: 1, n: 1 },
              inputs: slots,
              expiresInMs: LEASE_MS,
            },
            payload,
          )
        case 'lease-renew':
          throw new Error('the relay did not answer in time (loaded)')
        case 'task-error': {
          const msBeforeExpiry = expiresAt - performance.now()
          const outcome = msBeforeExpiry > 0 ? 'rejected' : 'stale'
          reports.push({ request, msBeforeExpiry, outcome })
          return answer({ type: 'result-ack', leaseId: request.leaseId, outcome })
        }
        default:
          throw new Error(`unexpected ${request.type}`)
      }
    },
  }
  return { channel, reports }
}

/** A kernel that never ends, on an executor that keeps the deadline it is given. */
function endlessKernel() {
  const deadlines: number[] = []
  const executor: KernelExecutor = {
    run: (_request, options) => {
      const timeoutMs = options?.timeoutMs ?? Number.POSITIVE_INFINITY
      deadlines.push(timeoutMs)
      return new Promise((_, reject) =>
        setTimeout(
          () =>
            reject(new KernelTimeoutError(`Kernel call exceeded its ${timeoutMs} ms deadline.`)),
          timeoutMs,
        ),
      )
    },
  }
  return { executor, deadlines }
}

describe('runContributor and the kernel deadline', () => {
  it('gives up on an endless kernel early enough that its task error lands while the lease is alive', async () => {
    const relay = loadedRelay()
    const gpu = endlessKernel()
    const events: ContributorEvent[] = []
    const summary = await runContributor({
      channel: relay.channel,
      capabilities,
      executor: gpu.executor,
      gflops: false,
      signal: new AbortController().signal,
      maxTasks: 1,
      onEvent: (e) => events.push(e),
    })
    expect(summary).toMatchObject({ failed: 1, tasks: 0 })
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'task-failed', taskId: 'task-1' }),
    )
    // Before: the kernel ran to the lease's own expiry, and its report came too late (stale).
    expect(relay.reports).toHaveLength(1)
    const [report] = relay.reports
    expect(report!.request).toMatchObject({ type: 'task-error', code: 'KERNEL_TIMEOUT' })
    expect(report!.outcome, `${report!.msBeforeExpiry} ms before expiry`).toBe('rejected')
    expect(gpu.deadlines).toEqual([1_500])
  })
})

import { ApiRequestError, createClient, type JobSpec } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'

// Issue 9 (hostile kernels): a researcher's WGSL that does not compile reaches the
// researcher at submit, with the compiler's line and column, on a relay with a GPU adapter
// (dawn on SwiftShader here). Before, the job was accepted and, with one contributor, hung
// until the CLI's timeout: one contributor's report cannot fail a job.

const BROKEN = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() {
  y[0] = x[0] + undefined_thing;
}`

let relay: InProcessRelay

beforeAll(async () => {
  relay = await startInProcessRelay()
})
afterAll(async () => {
  await relay?.stop()
})

describe('WGSL checked at submit', () => {
  const spec = async (wgsl: string, entryPoint?: string): Promise<JobSpec> => {
    const client = createClient({ relay: relay.running.url })
    const x = await client.uploadTensor({ shape: [1], data: new Float32Array(1) })
    return {
      kernel: 'custom',
      program: {
        wgsl,
        ...(entryPoint ? { entryPoint } : {}),
        inputs: [{ name: 'x', dtype: 'float32' }],
        outputs: [{ name: 'y', dtype: 'float32' }],
      },
      tasks: [{ inputs: [x], outputs: [{ shape: [1], dtype: 'float32' }], workgroups: [1, 1, 1] }],
    }
  }

  it("refuses a kernel that does not compile with 422, naming the compiler's line:column", async () => {
    const client = createClient({ relay: relay.running.url })
    const err = await client.submit(await spec(BROKEN)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiRequestError)
    expect((err as ApiRequestError).status).toBe(422)
    expect((err as Error).message).toMatch(
      /program\.wgsl does not compile: 4:\d+: .*undefined_thing/,
    )
    expect(await client.listJobs()).toEqual([])
  })

  it('refuses a missing entry point and accepts a kernel that compiles', async () => {
    const client = createClient({ relay: relay.running.url })
    const good = BROKEN.replace('undefined_thing', '1.0')
    const missing = await client.submit(await spec(good, 'start')).catch((e: unknown) => e)
    expect((missing as ApiRequestError).status).toBe(422)
    expect((missing as Error).message).toMatch(/entry point "start"/)
    const job = await client.submit(await spec(good))
    expect(job.id).toBeTruthy()
    await client.cancel(job.id)
  })
})

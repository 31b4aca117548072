import { InferenceOutputSchema, type JobSpec } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { createFakeCoordinatorApi } from './testing/fake-coordinator-api.ts'
import { createTestApi, sha256 } from './testing/test-api.ts'

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})

async function upload(app: ReturnType<typeof createTestApi>['app'], values: number[]) {
  const bytes = new Uint8Array(new Float32Array(values).buffer)
  const response = await app.request('/v1/blobs', { method: 'PUT', body: bytes })
  expect(response.status).toBe(201)
  return (await response.json()) as { blob: string; size: number }
}

const matmulSpec = (a: string, b: string) => ({
  kernel: 'matmul',
  inputs: {
    a: { blob: a, dtype: 'float32', shape: [2, 3] },
    b: { blob: b, dtype: 'float32', shape: [3, 2] },
  },
})

async function errorOf(response: Response) {
  const body = (await response.json()) as { error: { code: string; message: string } }
  return { status: response.status, ...body.error }
}

describe('HTTP API: validation', () => {
  it('stores a blob under its sha-256 and serves it back', async () => {
    const { app } = createTestApi()
    const bytes = new Uint8Array([1, 2, 3, 4])
    const put = await app.request('/v1/blobs', { method: 'PUT', body: bytes })
    expect(put.status).toBe(201)
    expect(await put.json()).toEqual({ blob: sha256(bytes), size: 4 })
    const get = await app.request(`/v1/blobs/${sha256(bytes)}`)
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes)
  })

  it('answers a blob upload only once the store has committed it', async () => {
    const jobs = createFakeCoordinatorApi()
    let commit!: () => void
    jobs.durable = () =>
      new Promise<void>((resolve) => {
        commit = resolve
      })
    const { app } = createTestApi({ jobs })
    let answered = false
    const put = Promise.resolve(
      app.request('/v1/blobs', { method: 'PUT', body: new Uint8Array([9]) }),
    )
    void put.then(() => {
      answered = true
    })
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(answered).toBe(false)
    commit()
    expect((await put).status).toBe(201)
  })

  it('refuses a blob over the cap with 413', async () => {
    const { app } = createTestApi({ maxBlobBytes: 8 })
    const response = await app.request('/v1/blobs', {
      method: 'PUT',
      body: new Uint8Array(9),
      headers: { 'content-length': '9' },
    })
    expect(await errorOf(response)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
  })

  it('answers an inference job’s output as InferenceOutput JSON', async () => {
    const { app, jobs } = createTestApi()
    const spec = { kernel: 'inference', prompts: [[1]], maxNewTokens: 3 } as unknown as JobSpec
    const job = await jobs.submit(spec, { account: 'local' })
    jobs.finish(job.id, 'completed')
    const response = await app.request(`/v1/jobs/${job.id}/output`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(InferenceOutputSchema.parse(await response.json())).toEqual({
      sequences: [{ index: 0, tokens: [1, 2, 3], finish: 'length' }],
    })
  })

  it('names a malformed blob hash and a missing blob', async () => {
    const { app } = createTestApi()
    expect(await errorOf(await app.request('/v1/blobs/not-a-hash'))).toMatchObject({
      status: 400,
      code: 'INVALID_ID',
      message: expect.stringContaining('path.hash'),
    })
    expect(await errorOf(await app.request(`/v1/blobs/${'0'.repeat(64)}`))).toMatchObject({
      status: 404,
      code: 'BLOB_NOT_FOUND',
    })
  })

  it('submits a valid job as the caller and answers 201 with the job', async () => {
    const { app, jobs } = createTestApi()
    const a = await upload(app, [1, 2, 3, 4, 5, 6])
    const b = await upload(app, [1, 0, 0, 1, 1, 1])
    const response = await app.request('/v1/jobs', json(matmulSpec(a.blob, b.blob)))
    expect(response.status).toBe(201)
    const job = (await response.json()) as { id: string; owner: string; status: string }
    expect(job).toMatchObject({ owner: 'local', status: 'running' })
    expect(jobs.specs.get(job.id)?.kernel).toBe('matmul')
  })

  it('names the field of an invalid job spec', async () => {
    const { app } = createTestApi()
    const spec = matmulSpec('a'.repeat(64), 'b'.repeat(64))
    spec.inputs.a.shape = [2, 0]
    expect(await errorOf(await app.request('/v1/jobs', json(spec)))).toMatchObject({
      status: 400,
      code: 'INVALID_BODY',
      message: expect.stringMatching(/^body\.inputs\.a\.shape\.1: /),
    })
    const unknown = { ...spec, kernel: 'fft' }
    expect((await errorOf(await app.request('/v1/jobs', json(unknown)))).message).toMatch(
      /^body\.kernel: /,
    )
    const misaligned = matmulSpec('a'.repeat(64), 'b'.repeat(64))
    misaligned.inputs.b.shape = [4, 2]
    expect((await errorOf(await app.request('/v1/quote', json(misaligned)))).message).toMatch(
      /inner dimensions differ: A is 2x3, B is 4x2/,
    )
    // A product too big to assemble, and custom outputs too big to hold, are refused up front.
    const huge = matmulSpec('a'.repeat(64), 'b'.repeat(64))
    huge.inputs.a.shape = [2 ** 22, 1]
    huge.inputs.b.shape = [1, 2 ** 22]
    expect(await errorOf(await app.request('/v1/jobs', json(huge)))).toMatchObject({
      status: 400,
      code: 'INVALID_BODY',
      message: expect.stringMatching(/^body\.inputs: C = A·B would be 4194304x4194304 = /),
    })
    const wide = {
      kernel: 'custom',
      program: { wgsl: 'fn main() {}', inputs: [], outputs: [{ name: 'y', dtype: 'float32' }] },
      tasks: Array.from({ length: 20 }, () => ({
        inputs: [],
        outputs: [{ shape: [2 ** 24], dtype: 'float32' }],
        workgroups: [1, 1, 1],
      })),
    }
    expect((await errorOf(await app.request('/v1/jobs', json(wide)))).message).toMatch(
      /^body\.tasks: the tasks' outputs hold 335544320 elements together, at most 268435456/,
    )
  })

  it('refuses a body that is not JSON, not declared JSON, empty, or too large', async () => {
    const { app } = createTestApi({ maxJsonBytes: 1024 })
    expect(await errorOf(await app.request('/v1/jobs', json('{"kernel":')))).toMatchObject({
      status: 400,
      code: 'INVALID_BODY',
      message: expect.stringContaining('not valid JSON'),
    })
    expect(
      await errorOf(
        await app.request('/v1/jobs', {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'text/plain' },
        }),
      ),
    ).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })
    expect(await errorOf(await app.request('/v1/jobs', json('')))).toMatchObject({
      status: 400,
      code: 'INVALID_BODY',
    })
    const big = JSON.stringify({ kernel: 'matmul', pad: 'x'.repeat(2000) })
    expect(
      await errorOf(
        await app.request('/v1/jobs', {
          ...json(big),
          headers: { 'content-type': 'application/json', 'content-length': String(big.length) },
        }),
      ),
    ).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
  })

  it('validates ids before looking them up, and hides unknown jobs behind 404', async () => {
    const { app } = createTestApi()
    expect(await errorOf(await app.request('/v1/jobs/..%2Fetc'))).toMatchObject({
      status: 400,
      code: 'INVALID_ID',
    })
    expect(await errorOf(await app.request(`/v1/jobs/${'x'.repeat(65)}`))).toMatchObject({
      status: 400,
      code: 'INVALID_ID',
    })
    expect(await errorOf(await app.request('/v1/jobs/nosuchjob'))).toMatchObject({
      status: 404,
      code: 'JOB_NOT_FOUND',
    })
    expect(await errorOf(await app.request('/v1/accounts/0x12'))).toMatchObject({
      status: 400,
      message: expect.stringContaining('path.address'),
    })
  })

  it('names bad query parameters', async () => {
    const { app } = createTestApi()
    expect(await errorOf(await app.request('/v1/jobs?limit=0'))).toMatchObject({
      status: 400,
      code: 'INVALID_QUERY',
      message: expect.stringMatching(/^query\.limit: /),
    })
    expect(await errorOf(await app.request('/v1/jobs?status=done'))).toMatchObject({
      message: expect.stringMatching(/^query\.status: /),
    })
    expect((await errorOf(await app.request('/v1/jobs?colour=red'))).message).toMatch(/colour/)
  })

  it('answers unknown API paths in the error shape', async () => {
    const { app } = createTestApi()
    expect(await errorOf(await app.request('/v1/nothing'))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    })
  })

  it('pages results, cancels with a refund, and serves a completed matmul as raw f32 or .npy', async () => {
    const { app, jobs } = createTestApi()
    const a = await upload(app, [1, 2, 3, 4, 5, 6])
    const b = await upload(app, [1, 0, 0, 1, 1, 1])
    const { id } = (await (
      await app.request('/v1/jobs', json(matmulSpec(a.blob, b.blob)))
    ).json()) as { id: string }
    jobs.accept(id, 0)
    jobs.accept(id, 1)
    const page = (await (await app.request(`/v1/jobs/${id}/results?after=1&limit=10`)).json()) as {
      results: Array<{ seq: number }>
    }
    expect(page.results.map((r) => r.seq)).toEqual([2])
    expect(await errorOf(await app.request(`/v1/jobs/${id}/output`))).toMatchObject({
      status: 409,
      code: 'JOB_NOT_COMPLETE',
    })
    jobs.finish(id, 'completed')
    const raw = await app.request(`/v1/jobs/${id}/output`)
    expect(raw.headers.get('x-tabswarm-shape')).toBe('2,2')
    expect([...new Float32Array(await raw.arrayBuffer())]).toEqual([0, 1, 2, 3])
    const npy = new Uint8Array(
      await (await app.request(`/v1/jobs/${id}/output?format=npy`)).arrayBuffer(),
    )
    const headerLength = npy[8]! | (npy[9]! << 8)
    expect((10 + headerLength) % 64).toBe(0)
    expect(new TextDecoder().decode(npy.subarray(10, 10 + headerLength))).toContain(
      "'shape': (2, 2)",
    )

    const second = (await (
      await app.request('/v1/jobs', json(matmulSpec(a.blob, b.blob)))
    ).json()) as { id: string }
    const cancelled = (await (
      await app.request(`/v1/jobs/${second.id}/cancel`, { method: 'POST' })
    ).json()) as {
      status: string
      credits: { refunded: string }
    }
    expect(cancelled).toMatchObject({ status: 'cancelled', credits: { refunded: '42' } })
  })
})

import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { streamSSE } from 'hono/streaming'
import type { BlobStore } from '../blobs/blob-store.ts'
import type { Coordinator } from '../coordinator/coordinator.ts'
import type { JobEvent } from '../coordinator/job-types.ts'
import type { Logger } from '../log.ts'
import { ApiError, errorResponse } from './error-response.ts'
import { CreateJobSchema } from './job-request.ts'

export interface ApiOptions {
  coordinator: Coordinator
  blobs: BlobStore
  log: Logger
  /** What `GET /v1/swarm` tells tabs to dial. */
  swarm: () => { peerId: string; multiaddrs: string[] }
  /** Largest blob accepted by `PUT /v1/blobs`. @default 512 MiB */
  maxBlobBytes?: number
}

/**
 * The HTTP JSON API used by the SDK, the CLI and the pages: blobs in, jobs submitted,
 * progress streamed, products out.
 */
export function createApi(options: ApiOptions): Hono {
  const { coordinator, blobs, log } = options
  const maxBlobBytes = options.maxBlobBytes ?? 512 * 1024 ** 2
  const api = new Hono()

  api.onError((err, c) =>
    errorResponse(err, c, (e) => log.error('request failed', { path: c.req.path, error: e.stack })),
  )
  api.notFound((c) =>
    c.json(
      { error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  )

  api.get('/health', (c) => c.json({ ok: true, ...coordinator.stats() }))
  api.get('/swarm', (c) => c.json(options.swarm()))

  api.put(
    '/blobs',
    bodyLimit({
      maxSize: maxBlobBytes,
      onError: () => {
        throw new ApiError('PAYLOAD_TOO_LARGE', `blob exceeds ${maxBlobBytes} bytes`)
      },
    }),
    async (c) => c.json(blobs.put(new Uint8Array(await c.req.arrayBuffer())), 201),
  )

  api.get('/blobs/:hash', (c) => {
    const bytes = blobs.get(c.req.param('hash'))
    if (bytes == null) throw new ApiError('BLOB_NOT_FOUND', `no blob ${c.req.param('hash')}`)
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'application/octet-stream',
    })
  })

  api.post('/jobs', bodyLimit({ maxSize: 64 * 1024 }), async (c) => {
    const parsed = CreateJobSchema.safeParse(await c.req.json().catch(() => undefined))
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new ApiError(
        'BAD_REQUEST',
        `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid job'}`,
      )
    }
    const { a, b } = parsed.data.inputs
    const [m, k] = a.shape
    const [kb, n] = b.shape
    if (k !== kb)
      throw new ApiError('INVALID_JOB', `inner dimensions differ: A is ${m}x${k}, B is ${kb}x${n}`)
    const tensor = (name: 'a' | 'b', ref: typeof a) => {
      const bytes = blobs.get(ref.blob)
      if (bytes == null)
        throw new ApiError('BLOB_NOT_FOUND', `input ${name}: no blob ${ref.blob}; upload it first`)
      const expected = ref.shape[0] * ref.shape[1] * 4
      if (bytes.byteLength !== expected) {
        throw new ApiError(
          'INVALID_JOB',
          `input ${name}: shape ${ref.shape.join('x')} float32 needs ${expected} bytes, blob has ${bytes.byteLength}`,
        )
      }
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    }
    const job = coordinator.submitMatmul({ a: tensor('a', a), b: tensor('b', b), m, k, n })
    log.info('job submitted', { job: job.id, m, k, n, tasks: job.tasks.total })
    return c.json(job, 201)
  })

  api.get('/jobs', (c) => c.json({ jobs: coordinator.listJobs() }))
  api.get('/jobs/:id', (c) => c.json(coordinator.getJob(c.req.param('id'))))
  api.post('/jobs/:id/cancel', (c) => c.json(coordinator.cancel(c.req.param('id'))))

  api.get('/jobs/:id/output', (c) => {
    const job = coordinator.getJob(c.req.param('id'))
    const output = coordinator.jobOutput(job.id)
    return c.body(
      new Uint8Array(
        output.buffer,
        output.byteOffset,
        output.byteLength,
      ) as Uint8Array<ArrayBuffer>,
      200,
      {
        'content-type': 'application/octet-stream',
        'x-tabswarm-dtype': 'float32',
        'x-tabswarm-shape': `${job.args.m},${job.args.n}`,
      },
    )
  })

  api.get('/jobs/:id/events', (c) => {
    const id = c.req.param('id')
    const first = coordinator.getJob(id)
    return streamSSE(c, async (stream) => {
      const send = (event: JobEvent) =>
        stream.writeSSE({ event: event.type, data: JSON.stringify(event.job) })
      if (first.status !== 'running') {
        await send({ type: first.status, job: first } as JobEvent)
        return
      }
      const done = Promise.withResolvers<void>()
      let chain = send({ type: 'progress', job: first })
      const unsubscribe = coordinator.subscribe(id, (event) => {
        chain = chain.then(() => send(event))
        if (event.type !== 'progress') chain.then(done.resolve, done.resolve)
      })
      stream.onAbort(() => done.resolve())
      try {
        await done.promise
      } finally {
        unsubscribe()
      }
    })
  })

  return new Hono().route('/v1', api)
}

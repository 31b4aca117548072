import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiRequestTypedData, defaultApiConfig, walletRequestHeaders } from '@tabswarm/relay'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startInProcessRelay } from '../support/in-process-relay.ts'
import { CLI, startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/**
 * The HTTP API of a real `tabswarm start` process, as a client meets it: bad requests get a
 * 4xx that names the problem, good ones work, credentials and limits are enforced, events
 * stream over SSE and WebSocket, and operators get metrics and an OpenAPI description.
 */

const KEY = 'tsk_e2e_alice_0123456789abcdefghij'

interface ApiErrorBody {
  error: { code: string; message: string }
}

async function errorOf(response: Response) {
  const body = (await response.json()) as ApiErrorBody
  return { status: response.status, ...body.error }
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer)

/** Signs a request for the relay with peer id `relay`, as the SDK does. */
async function signedFor(
  wallet: ReturnType<typeof privateKeyToAccount>,
  relay: string,
  method: string,
  path: string,
  body = new Uint8Array(0),
) {
  const typed = apiRequestTypedData({
    method,
    path,
    bodySha256: `0x${createHash('sha256').update(body).digest('hex')}`,
    timestamp: BigInt(Date.now()),
    nonce: crypto.randomUUID(),
    relay,
  })
  return walletRequestHeaders(wallet.address, typed.message, await wallet.signTypedData(typed))
}

function matmulSpec(a: string, b: string) {
  return {
    kernel: 'matmul',
    inputs: {
      a: { blob: a, dtype: 'float32', shape: [2, 3] },
      b: { blob: b, dtype: 'float32', shape: [3, 2] },
    },
  }
}

describe('HTTP API of an open local relay', () => {
  let relay: TabswarmProcess
  const api = (path: string, init?: RequestInit) =>
    fetch(`${relay.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
  const post = (path: string, body: unknown) =>
    api(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  let blobs: { a: string; b: string }

  beforeAll(async () => {
    relay = await startTabswarmProcess({ env: { TABSWARM_MAX_BLOB_BYTES: '4096' } })
    const put = async (bytes: Uint8Array<ArrayBuffer>) =>
      ((await (await api('/v1/blobs', { method: 'PUT', body: bytes })).json()) as { blob: string })
        .blob
    blobs = { a: await put(f32([1, 2, 3, 4, 5, 6])), b: await put(f32([1, 0, 0, 1, 1, 1])) }
  }, 60_000)
  afterAll(async () => {
    await relay?.stop()
  })

  it('says at start that it is open to local callers', () => {
    expect(relay.logs()).toMatch(/open to local callers as account \\"local\\"/)
  })

  it('answers bad requests with 4xx naming what is wrong', async () => {
    expect(await errorOf(await post('/v1/jobs', { kernel: 'matmul' }))).toMatchObject({
      status: 400,
      code: 'INVALID_BODY',
      message: expect.stringMatching(/^body\.inputs: /),
    })
    const bad = matmulSpec(blobs.a, blobs.b)
    bad.inputs.b.shape = [2, 2]
    expect(await errorOf(await post('/v1/jobs', bad))).toMatchObject({
      status: 400,
      message: expect.stringContaining('inner dimensions differ'),
    })
    const missing = matmulSpec('0'.repeat(64), blobs.b)
    expect(await errorOf(await post('/v1/jobs', missing))).toMatchObject({
      status: 404,
      code: 'BLOB_NOT_FOUND',
      message: expect.stringContaining('inputs.a'),
    })
    expect(
      await errorOf(
        await api('/v1/jobs', {
          method: 'POST',
          body: '{',
          headers: { 'content-type': 'application/json' },
        }),
      ),
    ).toMatchObject({ status: 400, message: expect.stringContaining('not valid JSON') })
    expect(
      await errorOf(await api('/v1/blobs', { method: 'PUT', body: new Uint8Array(4097) })),
    ).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    })
    expect(await errorOf(await api('/v1/jobs/not%20an%20id'))).toMatchObject({
      status: 400,
      code: 'INVALID_ID',
    })
    expect(await errorOf(await api('/v1/jobs/nosuchjob'))).toMatchObject({
      status: 404,
      code: 'JOB_NOT_FOUND',
    })
    expect(await errorOf(await api('/v1/jobs?limit=9999'))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^query\.limit: /),
    })
    expect(await errorOf(await api('/v1/teapot'))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
  })

  it('quotes, submits, lists, streams and cancels a job', async () => {
    const quote = (await (await post('/v1/quote', matmulSpec(blobs.a, blobs.b))).json()) as {
      flops: number
    }
    expect(quote.flops).toBe(2 * 2 * 3 * 2)
    const created = await post('/v1/jobs', matmulSpec(blobs.a, blobs.b))
    expect(created.status).toBe(201)
    expect(created.headers.get('x-request-id')).toMatch(/\S/)
    const job = (await created.json()) as { id: string; owner: string; status: string }
    expect(job).toMatchObject({ owner: 'local', status: 'running' })
    const list = (await (await api('/v1/jobs?status=running')).json()) as {
      jobs: Array<{ id: string }>
    }
    expect(list.jobs.map((j) => j.id)).toContain(job.id)
    expect(await errorOf(await api(`/v1/jobs/${job.id}/output`))).toMatchObject({ status: 409 })

    // The same events over a WebSocket: the current state first, then the end.
    const socket = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/v1/jobs/${job.id}/events`)
    const messages: Array<{ event: string; data: { job?: { status: string } } }> = []
    const closed = new Promise<number>((resolve, reject) => {
      socket.onmessage = (message) => messages.push(JSON.parse(String(message.data)))
      socket.onclose = (event) => resolve(event.code)
      socket.onerror = () => reject(new Error('event socket failed'))
    })
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve()
      setTimeout(() => reject(new Error('event socket did not open')), 5_000)
    })
    await expect.poll(() => messages.length, { timeout: 5_000 }).toBeGreaterThan(0)
    expect(messages[0]).toMatchObject({ event: 'progress', data: { job: { status: 'running' } } })

    const cancelled = (await (
      await api(`/v1/jobs/${job.id}/cancel`, { method: 'POST' })
    ).json()) as {
      id: string
      status: string
      credits: { budget: string; spent: string; refunded: string }
    }
    expect(cancelled).toMatchObject({ id: job.id, status: 'cancelled' })
    // Nothing ran (no contributors): the whole escrow comes back, in decimal strings.
    expect(cancelled.credits.spent).toBe('0')
    expect(cancelled.credits.refunded).toBe(cancelled.credits.budget)
    expect(await closed).toBe(1000)
    expect(messages.at(-1)).toMatchObject({
      event: 'cancelled',
      data: { job: { status: 'cancelled' } },
    })

    const sse = await api(`/v1/jobs/${job.id}/events`, { headers: { accept: 'text/event-stream' } })
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(await sse.text()).toMatch(/event: cancelled\n/)
  })

  it('describes every route in OpenAPI 3.1 and exposes Prometheus metrics', async () => {
    const doc = (await (await api('/v1/openapi.json')).json()) as {
      openapi: string
      paths: Record<string, object>
    }
    expect(doc.openapi).toBe('3.1.0')
    for (const path of [
      '/v1/jobs',
      '/v1/jobs/{id}/events',
      '/v1/jobs/{id}/results',
      '/v1/accounts/{address}',
      '/metrics',
    ])
      expect(doc.paths, path).toHaveProperty([path])
    const metrics = await (await api('/metrics')).text()
    for (const name of [
      'tabswarm_queue_depth',
      'tabswarm_leases_active',
      'tabswarm_contributors_online',
      'tabswarm_tasks_completed_total',
      'tabswarm_verifications_total',
    ])
      expect(metrics).toContain(`# TYPE ${name} `)
    expect(metrics).toMatch(
      /tabswarm_http_requests_total\{method="POST",route="\/v1\/jobs",status="201"\} [1-9]/,
    )
    expect(metrics).toMatch(
      /tabswarm_http_requests_total\{method="GET",route="\/v1\/jobs\/:id",status="404"\} [1-9]/,
    )
  })
})

describe('HTTP API of a relay with keys', () => {
  let relay: TabswarmProcess
  const api = (path: string, init?: RequestInit) =>
    fetch(`${relay.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
  const wallet = privateKeyToAccount(generatePrivateKey())

  let peerId: string | undefined
  async function signed(method: string, path: string, body = new Uint8Array(0)) {
    peerId ??= ((await (await api('/v1/swarm')).json()) as { peerId: string }).peerId
    return signedFor(wallet, peerId, method, path, body)
  }

  beforeAll(async () => {
    relay = await startTabswarmProcess({
      env: {
        TABSWARM_API_KEYS: `alice:${KEY}`,
        TABSWARM_RATE_LIMIT: '1000/1000,2/10',
        // A keyed relay grants nothing unless told to (see the in-process case below).
        TABSWARM_WELCOME_CREDITS: '1000000',
        // Per-request lines are debug: this level shows them (the key must still not show).
        TABSWARM_LOG_LEVEL: 'debug',
      },
    })
  }, 60_000)
  afterAll(async () => {
    await relay?.stop()
  })

  it('requires a key or a signature, and never logs the key', async () => {
    expect(await errorOf(await api('/v1/jobs'))).toMatchObject({
      status: 401,
      code: 'AUTH_REQUIRED',
    })
    expect(
      await errorOf(
        await api('/v1/jobs', {
          headers: { authorization: 'Bearer tsk_wrong_key_00000000000000000' },
        }),
      ),
    ).toMatchObject({
      status: 401,
      code: 'INVALID_API_KEY',
    })
    expect((await api('/v1/jobs', { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(
      200,
    )
    expect((await api('/v1/health')).status).toBe(200)
    expect(relay.logs()).not.toContain(KEY)
    expect(relay.logs()).toMatch(/"level":"debug".*"msg":"request".*"account":"alice"/)
  })

  it('takes a wallet signature once, over the exact body', async () => {
    const put = async (values: number[]) => {
      const bytes = f32(values)
      const response = await api('/v1/blobs', {
        method: 'PUT',
        body: bytes,
        headers: await signed('PUT', '/v1/blobs', bytes),
      })
      expect(response.status).toBe(201)
      return ((await response.json()) as { blob: string }).blob
    }
    const spec = matmulSpec(await put([1, 2, 3, 4, 5, 6]), await put([1, 0, 0, 1, 1, 1]))
    const body = new TextEncoder().encode(JSON.stringify(spec))
    const headers = {
      ...(await signed('POST', '/v1/quote', body)),
      'content-type': 'application/json',
    }
    expect((await api('/v1/quote', { method: 'POST', body, headers })).status).toBe(200)
    expect(await errorOf(await api('/v1/quote', { method: 'POST', body, headers }))).toMatchObject({
      status: 401,
      code: 'SIGNATURE_REPLAYED',
    })
    const tampered = new TextEncoder().encode(JSON.stringify({ ...spec, priority: 9 }))
    const fresh = {
      ...(await signed('POST', '/v1/quote', body)),
      'content-type': 'application/json',
    }
    expect(
      await errorOf(await api('/v1/quote', { method: 'POST', body: tampered, headers: fresh })),
    ).toMatchObject({
      status: 400,
      code: 'BODY_HASH_MISMATCH',
    })
    const path = `/v1/accounts/${wallet.address}`
    expect(await (await api(path, { headers: await signed('GET', path) })).json()).toMatchObject({
      account: wallet.address,
    })
  })

  it('streams events over a WebSocket to a key offered as a subprotocol, as browsers must', async () => {
    const bearer = { authorization: `Bearer ${KEY}` }
    const put = async (values: number[]) =>
      (
        (await (
          await api('/v1/blobs', { method: 'PUT', body: f32(values), headers: bearer })
        ).json()) as { blob: string }
      ).blob
    const spec = matmulSpec(await put([1, 2, 3, 4, 5, 6]), await put([1, 0, 0, 1, 1, 1]))
    const created = await api('/v1/jobs', {
      method: 'POST',
      body: JSON.stringify(spec),
      headers: { ...bearer, 'content-type': 'application/json' },
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }
    const url = `${relay.url.replace(/^http/, 'ws')}/v1/jobs/${id}/events`

    const refused = new WebSocket(url)
    await new Promise<void>((resolve) => {
      refused.onerror = () => resolve()
      refused.onopen = () => resolve()
    })
    expect(refused.readyState).not.toBe(WebSocket.OPEN)

    const socket = new WebSocket(url, [
      'tabswarm.v1',
      `tabswarm.bearer.${Buffer.from(KEY).toString('base64url')}`,
    ])
    const events: string[] = []
    const closed = new Promise<number>((resolve) => {
      socket.onclose = (event) => resolve(event.code)
    })
    socket.onmessage = (message) =>
      events.push((JSON.parse(String(message.data)) as { event: string }).event)
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve()
      socket.onerror = () => reject(new Error('the keyed event socket did not open'))
    })
    expect(socket.protocol).toBe('tabswarm.v1')
    await expect.poll(() => events.length, { timeout: 5_000 }).toBeGreaterThan(0)
    await api(`/v1/jobs/${id}/cancel`, { method: 'POST', headers: bearer })
    expect(await closed).toBe(1000)
    expect(events).toEqual(['progress', 'cancelled'])
  })

  it('limits each account with 429 and Retry-After', async () => {
    const statuses: number[] = []
    let retryAfter: string | null = null
    for (let i = 0; i < 20; i++) {
      const response = await api('/v1/jobs', { headers: { authorization: `Bearer ${KEY}` } })
      statuses.push(response.status)
      if (response.status === 429) retryAfter = response.headers.get('retry-after')
    }
    expect(statuses).toContain(429)
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
  })
})

describe('wallet-signed requests replayed', () => {
  it('to a second relay are refused (WRONG_RELAY), and to the first after its restart too (SIGNATURE_REPLAYED)', async () => {
    const walletOnly = {
      api: { ...defaultApiConfig, walletAuthOnly: true },
      welcomeCredits: 1_000n,
    }
    const [a, b] = await Promise.all([
      startInProcessRelay(walletOnly),
      startInProcessRelay(walletOnly),
    ])
    try {
      const wallet = privateKeyToAccount(generatePrivateKey())
      const at = (relay: typeof a, path: string, init: RequestInit) =>
        fetch(`${relay.running.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
      const peerIdOf = async (relay: typeof a) =>
        ((await (await at(relay, '/v1/swarm', {})).json()) as { peerId: string }).peerId
      const peerA = await peerIdOf(a)
      expect(await peerIdOf(b)).not.toBe(peerA)

      const put = async (values: number[]) => {
        const bytes = f32(values)
        const init = {
          method: 'PUT',
          body: bytes,
          headers: await signedFor(wallet, peerA, 'PUT', '/v1/blobs', bytes),
        }
        const stored = await at(a, '/v1/blobs', init)
        expect(stored.status).toBe(201)
        // The captured upload, verbatim, at the second relay.
        expect(await errorOf(await at(b, '/v1/blobs', init))).toMatchObject({
          status: 401,
          code: 'WRONG_RELAY',
        })
        return ((await stored.json()) as { blob: string }).blob
      }
      const spec = matmulSpec(await put([1, 2, 3, 4, 5, 6]), await put([1, 0, 0, 1, 1, 1]))
      const body = new TextEncoder().encode(JSON.stringify({ ...spec, budget: 100 }))
      const submit = {
        method: 'POST',
        body,
        headers: {
          ...(await signedFor(wallet, peerA, 'POST', '/v1/jobs', body)),
          'content-type': 'application/json',
        },
      }
      expect((await at(a, '/v1/jobs', submit)).status).toBe(201)
      expect(await errorOf(await at(b, '/v1/jobs', submit))).toMatchObject({
        status: 401,
        code: 'WRONG_RELAY',
      })
      // No job, so nothing escrowed from the wallet, at the second relay.
      const peerB = await peerIdOf(b)
      const listed = await at(b, '/v1/jobs', {
        headers: await signedFor(wallet, peerB, 'GET', '/v1/jobs'),
      })
      expect(await listed.json()).toMatchObject({ jobs: [] })

      // The same submission after the first relay restarts: its nonces came back with its store.
      await a.restart()
      expect(await peerIdOf(a)).toBe(peerA)
      expect(await errorOf(await at(a, '/v1/jobs', submit))).toMatchObject({
        status: 401,
        code: 'SIGNATURE_REPLAYED',
      })
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  }, 60_000)
})

describe('welcome credits of a keyed relay', () => {
  it('are none by default: a new account’s first job is refused with 402', async () => {
    const relay = await startInProcessRelay({
      api: {
        ...defaultApiConfig,
        apiKeys: [{ account: 'bob', sha256: createHash('sha256').update(KEY).digest('hex') }],
      },
    })
    try {
      const url = relay.running.url
      const headers = { authorization: `Bearer ${KEY}` }
      const put = async (values: number[]) =>
        (
          (await (
            await fetch(`${url}/v1/blobs`, { method: 'PUT', body: f32(values), headers })
          ).json()) as { blob: string }
        ).blob
      const spec = matmulSpec(await put([1, 2, 3, 4, 5, 6]), await put([1, 0, 0, 1, 1, 1]))
      const response = await fetch(`${url}/v1/jobs`, {
        method: 'POST',
        body: JSON.stringify(spec),
        headers: { ...headers, 'content-type': 'application/json' },
      })
      expect(await errorOf(response)).toMatchObject({
        status: 402,
        code: 'INSUFFICIENT_CREDITS',
        message: expect.stringMatching(/account bob has 0 credits/),
      })
    } finally {
      await relay.stop()
    }
  })
})

describe('starting a relay', () => {
  it('refuses to serve a public interface without credentials, saying what to set', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tabswarm-public-'))
    try {
      const child = spawn(
        process.execPath,
        [
          CLI,
          'start',
          '--host',
          '0.0.0.0',
          '--port',
          '0',
          '--p2p-port',
          '0',
          '--data-dir',
          dataDir,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TABSWARM_API_KEYS: '' } },
      )
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`tabswarm start on 0.0.0.0 kept running:\n${stderr}`))
        }, 30_000)
        child.once('exit', (exitCode) => {
          clearTimeout(timer)
          resolve(exitCode)
        })
      })
      expect(code).not.toBe(0)
      expect(stderr).toMatch(/refusing to serve the API on 0\.0\.0\.0 without credentials/)
      expect(stderr).toContain('TABSWARM_API_KEYS')
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  }, 40_000)
})

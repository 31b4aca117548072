import type { JobView, ModelRef, TokensEvent } from '@tabswarm/protocol'
import { createTestModel } from '@tabswarm/worker-kernels/test-model'
import { describe, expect, it } from 'vitest'
import { createClient } from '../client/client.ts'
import { JobAbortedError, JobFailedError, RelayResponseError } from '../client/client-errors.ts'
import { tokenizerFromJson } from './text-tokenizer.ts'

const testModel = createTestModel({ family: 'gpt2', layers: 2 })
const tokenizer = tokenizerFromJson(JSON.stringify(testModel.tokenizerJson))
const ref: ModelRef = { name: 'test', config: testModel.config, files: [{ blob: 'ab'.repeat(32) }] }
const model = { ref, tokenizer }

const view = (status: JobView['status'], error?: string): JobView =>
  ({
    id: 'j1',
    kernel: 'inference',
    owner: 'local',
    status,
    priority: 1,
    tasks: { total: 4, accepted: 0, leased: 0, rejectedResults: 0 },
    credits: { budget: '42', spent: '0', refunded: status === 'cancelled' ? '42' : '0' },
    createdAt: 0,
    ...(error ? { error } : {}),
  }) as JobView
const tokens = (from: number, ids: number[], finish?: TokensEvent['finish']) =>
  `event: tokens\ndata: ${JSON.stringify({ type: 'tokens', sequence: 0, from, tokens: ids, ...(finish ? { finish } : {}) })}\n\n`
const state = (type: string, job: JobView) => `event: ${type}\ndata: ${JSON.stringify({ job })}\n\n`

/** A connection of the event stream: text chunks, then closed (or held open, or an error). */
type Connection = { chunks: string[]; hold?: boolean } | 'refused'

/** A relay answering the inference routes from scripts, and recording what it was asked. */
function fakeRelay(options: { connections: Connection[]; output?: () => Response }) {
  const requests: Array<{ method: string; path: string; body?: unknown }> = []
  let cancelled = false
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input))
    const method = init.method ?? 'GET'
    const body =
      typeof init.body === 'string'
        ? JSON.parse(init.body)
        : init.body instanceof Uint8Array
          ? JSON.parse(new TextDecoder().decode(init.body))
          : undefined
    requests.push({ method, path: url.pathname, body })
    const json = (value: unknown, status = 200) =>
      new Response(JSON.stringify(value), {
        status,
        headers: { 'content-type': 'application/json' },
      })
    if (method === 'POST' && url.pathname === '/v1/jobs') return json(view('running'), 201)
    if (method === 'POST' && url.pathname === '/v1/jobs/j1/cancel') {
      cancelled = true
      return json(view('cancelled'))
    }
    if (url.pathname === '/v1/jobs/j1/output')
      return (
        options.output?.() ?? json({ error: { code: 'JOB_NOT_COMPLETE', message: 'running' } }, 409)
      )
    if (url.pathname === '/v1/jobs/j1/events') {
      const connection = options.connections.shift()
      if (connection == null || connection === 'refused') throw new TypeError('fetch failed')
      const encoder = new TextEncoder()
      const signal = init.signal
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of connection.chunks) controller.enqueue(encoder.encode(chunk))
            if (!connection.hold) controller.close()
            signal?.addEventListener('abort', () => controller.error(signal.reason))
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      )
    }
    return json({ error: { code: 'NOT_FOUND', message: `${method} ${url.pathname}` } }, 404)
  }
  return { fetch: fetch as typeof globalThis.fetch, requests, cancelled: () => cancelled }
}

const fast = { idleTimeoutMs: 500, reconnectDelayMs: 5, maxRetries: 2 }
const clientOf = (relay: ReturnType<typeof fakeRelay>) =>
  createClient({ relay: 'http://relay.test', fetch: relay.fetch, stream: fast })

describe('client.generate against a fake relay', () => {
  const text = ' the quick brown fox 🦊'
  const ids = tokenizer.encode(text)

  it('submits a pipeline inference job and yields its tokens in order, characters whole', async () => {
    const relay = fakeRelay({
      connections: [
        {
          chunks: [
            state('progress', view('running')),
            tokens(0, ids.slice(0, 3)),
            tokens(3, ids.slice(3), 'length'),
            state('completed', view('completed')),
          ],
        },
      ],
    })
    const out = []
    for await (const token of clientOf(relay).generate(model, 'Once', {
      maxNewTokens: ids.length,
      sampling: { mode: 'sample', seed: 7, topK: 40 },
    }))
      out.push(token)
    expect(out.map((t) => t.id)).toEqual(ids)
    expect(out.map((t) => t.text).join('')).toBe(text)
    const submit = relay.requests.find((r) => r.method === 'POST')!.body as Record<string, unknown>
    expect(submit).toMatchObject({
      kernel: 'inference',
      mode: 'pipeline',
      prompts: [tokenizer.encode('Once')],
      maxNewTokens: ids.length,
      sampling: { mode: 'sample', seed: 7, topK: 40 },
    })
    expect(relay.cancelled()).toBe(false)
  })

  it('resumes after the stream drops: repeats are cut by `from`, a gap is read from the output', async () => {
    const relay = fakeRelay({
      connections: [
        { chunks: [tokens(0, ids.slice(0, 2))] },
        'refused',
        // The relay replays from the start of the sequence: only what is new is yielded.
        { chunks: [tokens(0, ids.slice(0, 4))] },
        // Tokens 4..6 were accepted while no stream was open.
        { chunks: [tokens(6, ids.slice(6, 7))] },
        { chunks: [tokens(7, ids.slice(7), 'stop')] },
      ],
      output: () =>
        new Response(JSON.stringify({ sequences: [{ index: 0, tokens: ids.slice(0, 7) }] }), {
          headers: { 'content-type': 'application/json' },
        }),
    })
    const got: number[] = []
    for await (const { id } of clientOf(relay).generate(model, 'Once')) got.push(id)
    expect(got).toEqual(ids)
    expect(relay.requests.filter((r) => r.path.endsWith('/output'))).toHaveLength(1)
  })

  it('cancels the job when the signal aborts, and says what was refunded', async () => {
    const relay = fakeRelay({ connections: [{ chunks: [tokens(0, ids.slice(0, 1))], hold: true }] })
    const controller = new AbortController()
    const got: number[] = []
    const error = await (async () => {
      for await (const { id } of clientOf(relay).generate(model, 'Once', {
        signal: controller.signal,
      })) {
        got.push(id)
        controller.abort(new Error('enough'))
      }
    })().catch((err: unknown) => err)
    expect(got).toEqual(ids.slice(0, 1))
    expect(error).toBeInstanceOf(JobAbortedError)
    expect((error as JobAbortedError).message).toMatch(/enough; job j1 cancelled/)
    expect((error as JobAbortedError).job?.credits.refunded).toBe('42')
    expect(relay.cancelled()).toBe(true)
  })

  it('cancels the job when the caller leaves the loop early', async () => {
    const relay = fakeRelay({ connections: [{ chunks: [tokens(0, ids.slice(0, 3))], hold: true }] })
    for await (const _ of clientOf(relay).generate(model, 'Once')) break
    expect(relay.cancelled()).toBe(true)
  })

  it('throws JobFailedError naming why the job failed, and does not cancel it', async () => {
    const relay = fakeRelay({
      connections: [
        {
          chunks: [
            tokens(0, ids.slice(0, 1)),
            state('failed', view('failed', 'no contributor can hold stage 2 (needs 900 MB)')),
          ],
        },
      ],
    })
    const got: number[] = []
    const error = await (async () => {
      for await (const { id } of clientOf(relay).generate(model, 'Once')) got.push(id)
    })().catch((err: unknown) => err)
    expect(got).toEqual(ids.slice(0, 1))
    expect(error).toBeInstanceOf(JobFailedError)
    expect((error as Error).message).toBe(
      'job j1 failed: no contributor can hold stage 2 (needs 900 MB)',
    )
    expect(relay.cancelled()).toBe(false)
  })

  it('refuses a malformed tokens event as the relay breaking the API', async () => {
    const relay = fakeRelay({
      connections: [{ chunks: ['event: tokens\ndata: {"type":"tokens","sequence":0}\n\n'] }],
    })
    await expect(
      (async () => {
        for await (const _ of clientOf(relay).generate(model, 'Once')) void _
      })(),
    ).rejects.toBeInstanceOf(RelayResponseError)
    expect(relay.cancelled()).toBe(true)
  })

  it('checks the options before submitting anything, naming the field', async () => {
    const relay = fakeRelay({ connections: [] })
    const client = clientOf(relay)
    const first = (options: Parameters<typeof client.generate>[2], prompt = 'Once') =>
      client.generate(model, prompt, options).next()
    await expect(first({ stages: 3 })).rejects.toThrow(/stages: 3 stages cannot split 2 layers/)
    await expect(first({ maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/)
    await expect(first({}, '')).rejects.toThrow(/prompt 0 is empty/)
    await expect(client.generate('./gpt2', 'x').next()).rejects.toThrow(/@tabswarm\/sdk\/node/)
    await expect(client.generate(ref, 'x').next()).rejects.toThrow(/names no tokenizer blob/)
    expect(relay.requests).toEqual([])
  })
})

describe('client.generateBatch', () => {
  it('submits every prompt as one batch job and decodes each sequence of the output', async () => {
    const a = tokenizer.encode(' jumps over')
    const b = tokenizer.encode(' 日本')
    const relay = fakeRelay({
      connections: [{ chunks: [state('completed', view('completed'))] }],
      output: () =>
        new Response(
          JSON.stringify({
            sequences: [
              { index: 0, tokens: a, finish: 'length' },
              { index: 1, tokens: b, finish: 'stop' },
            ],
          }),
        ),
    })
    const generations = await clientOf(relay).generateBatch(model, ['The fox', 'Hi'], {
      maxNewTokens: 8,
    })
    expect(generations).toEqual([
      { index: 0, prompt: 'The fox', tokens: a, text: ' jumps over', finish: 'length' },
      { index: 1, prompt: 'Hi', tokens: b, text: ' 日本', finish: 'stop' },
    ])
    expect(relay.requests.find((r) => r.method === 'POST')!.body).toMatchObject({
      mode: 'batch',
      prompts: [tokenizer.encode('The fox'), tokenizer.encode('Hi')],
    })
  })

  it('refuses an output that does not hold one sequence per prompt', async () => {
    const relay = fakeRelay({
      connections: [{ chunks: [state('completed', view('completed'))] }],
      output: () => new Response(JSON.stringify({ sequences: [{ index: 0, tokens: [1] }] })),
    })
    await expect(clientOf(relay).generateBatch(model, ['a', 'b'])).rejects.toThrow(
      /holds 1 sequences, not the 2 prompts/,
    )
  })
})

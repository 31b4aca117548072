import type { Stream } from '@libp2p/interface'
import { streamPair } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { packBuffers } from './buffer-slots.ts'
import { createByteBudget } from './byte-budget.ts'
import { sendWorkRequest, serveWorkRequest } from './exchange.ts'
import { encodeFrame } from './frame.ts'
import { createStreamReader, encodeLengthPrefix, readFrame } from './frame-reader.ts'
import { MAX_MESSAGE_BYTES, MAX_TEXT } from './limits.ts'
import { type WorkRequest, WorkResponseSchema } from './messages.ts'
import { ProtocolError } from './protocol-error.ts'

const signal = () => AbortSignal.timeout(10_000)

const capabilities = {
  adapter: { vendor: 'test', architecture: 'cpu', device: '', description: 'exchange test' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'relay/src/protocol/exchange.test',
}

function resultOf(
  bytes: number,
  leaseId = 'lease-1',
): { header: WorkRequest; payload: Uint8Array } {
  const { slots, payload } = packBuffers([
    { name: 'c', dtype: 'float32', shape: [bytes / 4], bytes: new Uint8Array(bytes).fill(1) },
  ])
  return {
    header: { type: 'result', leaseId, outputs: slots, sha256: 'a'.repeat(64), elapsedMs: 1 },
    payload,
  }
}

/** Writes a frame's prefix and header only: what the server must decide on before any payload. */
function sendHeaderOnly(client: Stream, header: object, announcedPayload: number): void {
  const frame = encodeFrame(header)
  client.send(encodeLengthPrefix(frame.byteLength + announcedPayload))
  client.send(frame)
}

async function answerOn(client: Stream) {
  const reader = createStreamReader(client)
  const { frame } = await readFrame(reader, WorkResponseSchema, { signal: signal() })
  return frame!.header
}

describe('work exchange', () => {
  it('round-trips a request and its response', async () => {
    const [client, server] = await streamPair()
    const serving = serveWorkRequest(
      server,
      async ({ header }) => ({
        response: { type: 'hello-ack', peerId: header.type === 'hello' ? 'me' : 'no' },
      }),
      { signal: signal() },
    )
    const response = await sendWorkRequest(client, { type: 'hello', capabilities }, undefined, {
      signal: signal(),
    })
    await serving
    expect(response.header).toEqual({ type: 'hello-ack', peerId: 'me' })
  })

  it('refuses an invalid header before a byte of its payload arrives', async () => {
    const [client, server] = await streamPair()
    const violations: ProtocolError[] = []
    let handled = false
    const serving = serveWorkRequest(
      server,
      async () => {
        handled = true
        return { response: { type: 'no-work', retryAfterMs: 1 } }
      },
      { signal: signal(), onProtocolError: (err) => violations.push(err) },
    )
    // 32 MiB announced, never sent: the answer must come anyway.
    sendHeaderOnly(client, { type: 'result', leaseId: 'bad id!' }, 32 * 1024 * 1024)
    expect(await answerOn(client)).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE' })
    await serving
    expect(handled).toBe(false)
    expect(violations).toHaveLength(1)
  })

  it('refuses a payload larger than its header admits, unread', async () => {
    const [client, server] = await streamPair()
    const { header } = resultOf(1024)
    const serving = serveWorkRequest(
      server,
      async () => ({ response: { type: 'no-work', retryAfterMs: 1 } }),
      { signal: signal(), admit: () => 1024 },
    )
    sendHeaderOnly(client, header, 8 * 1024 * 1024)
    const answer = await answerOn(client)
    await serving
    expect(answer).toMatchObject({ type: 'error', code: 'MESSAGE_TOO_LARGE' })
    expect(answer.type === 'error' && answer.message).toMatch(/at most 1024 payload bytes/)
  })

  it('answers for the handler and drops the payload unread when admission says so', async () => {
    const [client, server] = await streamPair()
    let handled = false
    const serving = serveWorkRequest(
      server,
      async () => {
        handled = true
        return { response: { type: 'no-work', retryAfterMs: 1 } }
      },
      {
        signal: signal(),
        admit: () => ({ answer: { type: 'result-ack', leaseId: 'lease-1', outcome: 'stale' } }),
      },
    )
    const { header, payload } = resultOf(3 * 1024 * 1024)
    const response = await sendWorkRequest(client, header, payload, { signal: signal() })
    await serving
    expect(response.header).toMatchObject({ type: 'result-ack', outcome: 'stale' })
    expect(handled).toBe(false)
  })

  it('reads payloads only within the shared budget, holding each until its answer is sent', async () => {
    const budget = createByteBudget(3 * 1024 * 1024)
    let peak = 0
    const serve = (server: Stream) =>
      serveWorkRequest(
        server,
        async ({ payload }) => {
          peak = Math.max(peak, budget.used)
          expect(budget.used).toBeGreaterThanOrEqual(payload.byteLength)
          await new Promise((resolve) => setTimeout(resolve, 50))
          return { response: { type: 'no-work', retryAfterMs: 1 } }
        },
        { signal: signal(), budget },
      )
    const exchanges = await Promise.all(
      [0, 1, 2].map(async () => {
        const [client, server] = await streamPair()
        const { header, payload } = resultOf(2 * 1024 * 1024)
        return Promise.all([
          serve(server),
          sendWorkRequest(client, header, payload, { signal: signal() }),
        ])
      }),
    )
    expect(exchanges.map(([, response]) => response.header.type)).toEqual([
      'no-work',
      'no-work',
      'no-work',
    ])
    // 2 MiB each in a 3 MiB budget: never two at once.
    expect(peak).toBe(2 * 1024 * 1024)
    expect(budget.used).toBe(0)
  })

  it('maps a length prefix longer than the cap needs to MESSAGE_TOO_LARGE', async () => {
    const [client, server] = await streamPair()
    const serving = serveWorkRequest(
      server,
      async () => ({ response: { type: 'no-work', retryAfterMs: 1 } }),
      { signal: signal() },
    )
    // Five varint bytes: more than a 64 MiB length ever needs.
    client.send(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x01]))
    expect(await answerOn(client)).toMatchObject({ type: 'error', code: 'MESSAGE_TOO_LARGE' })
    await serving
  })

  it('treats a response it cannot encode as its own fault, not the peer’s', async () => {
    const [client, server] = await streamPair()
    const violations: ProtocolError[] = []
    const serving = serveWorkRequest(
      server,
      async () => ({
        response: { type: 'no-work', retryAfterMs: 1 },
        payload: new Uint8Array(MAX_MESSAGE_BYTES),
      }),
      { signal: signal(), onProtocolError: (err) => violations.push(err) },
    )
    const response = sendWorkRequest(client, { type: 'lease-request' }, undefined, {
      signal: signal(),
    })
    await expect(serving).rejects.toThrow(/could not be encoded/)
    expect((await response).header).toMatchObject({ type: 'error', code: 'INTERNAL' })
    expect(violations).toEqual([])
  })

  it('cuts an error message to what the schema admits, so the peer can read it', async () => {
    const [client, server] = await streamPair()
    const serving = serveWorkRequest(
      server,
      async () => {
        throw new ProtocolError('UNEXPECTED_MESSAGE', 'x'.repeat(4 * MAX_TEXT))
      },
      { signal: signal() },
    )
    const response = await sendWorkRequest(client, { type: 'lease-request' }, undefined, {
      signal: signal(),
    })
    await serving
    expect(response.header).toMatchObject({ type: 'error', code: 'UNEXPECTED_MESSAGE' })
    expect(response.header.type === 'error' && response.header.message).toHaveLength(MAX_TEXT)
  })

  it('cuts a request whose payload stops arriving after the idle timeout, not the deadline', async () => {
    const [client, server] = await streamPair()
    const violations: ProtocolError[] = []
    const budget = createByteBudget(64 * 1024 * 1024)
    const started = performance.now()
    const serving = serveWorkRequest(
      server,
      async () => ({ response: { type: 'no-work', retryAfterMs: 1 } }),
      {
        signal: signal(),
        budget,
        idleTimeoutMs: 300,
        onProtocolError: (err) => violations.push(err),
      },
    )
    // 32 MiB announced, never sent: its reservation is what a staller pins.
    const { header } = resultOf(32 * 1024 * 1024)
    sendHeaderOnly(client, header, 32 * 1024 * 1024)
    expect(await answerOn(client)).toMatchObject({ type: 'error', code: 'STREAM_IDLE' })
    await serving
    expect(performance.now() - started).toBeLessThan(3_000)
    expect(violations.map((v) => v.code)).toEqual(['STREAM_IDLE'])
    expect(budget.used).toBe(0)
  })

  it('reads a slow upload to its end while it keeps making progress', async () => {
    const [client, server] = await streamPair()
    let received = 0
    const serving = serveWorkRequest(
      server,
      async ({ payload }) => {
        received = payload.byteLength
        return { response: { type: 'no-work', retryAfterMs: 1 } }
      },
      { signal: signal(), idleTimeoutMs: 300 },
    )
    // Ten pieces, 100 ms apart: a second in all, over three times the idle timeout.
    const { header, payload } = resultOf(40 * 1024)
    const frame = encodeFrame(header, payload)
    client.send(encodeLengthPrefix(frame.byteLength))
    const piece = Math.ceil(frame.byteLength / 10)
    for (let at = 0; at < frame.byteLength; at += piece) {
      client.send(frame.subarray(at, at + piece))
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(await answerOn(client)).toMatchObject({ type: 'no-work' })
    await serving
    expect(received).toBe(40 * 1024)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/**
 * Results as a client streams them from a real relay while a real headless worker (dawn)
 * computes the tiles: server-sent events from the start and resumed with Last-Event-ID,
 * the paged results endpoint, each tile's output blob, and the product as a .npy file.
 */

const TILE = 16
const [M, K, N] = [40, 24, 40]
const TILES = Math.ceil(M / TILE) * Math.ceil(N / TILE)

interface SseEvent {
  event: string
  id: string
  data: string
}

interface Result {
  seq: number
  index: number
  outputs: Array<{ blob: string; dtype: string; shape: number[] }>
}

/** Reads a whole event stream (it ends after the job's terminal event). */
async function readStream(response: Response): Promise<SseEvent[]> {
  const text = await response.text()
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const event: SseEvent = { event: 'message', id: '', data: '' }
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event.event = line.slice(6).trim()
        else if (line.startsWith('id:')) event.id = line.slice(3).trim()
        else if (line.startsWith('data:')) event.data += line.slice(5).trim()
      }
      return event
    })
}

function product(a: Float32Array, b: Float32Array): Float64Array {
  const c = new Float64Array(M * N)
  for (let i = 0; i < M; i++)
    for (let p = 0; p < K; p++) {
      const x = a[i * K + p]!
      for (let j = 0; j < N; j++) c[i * N + j]! += x * b[p * N + j]!
    }
  return c
}

describe('streaming verified results from a relay with a headless worker', () => {
  let relay: TabswarmProcess
  let worker: WorkerProcess
  const api = (path: string, init?: RequestInit) =>
    fetch(`${relay.url}${path}`, { ...init, signal: AbortSignal.timeout(60_000) })

  beforeAll(async () => {
    relay = await startTabswarmProcess({ env: { TABSWARM_TILE_SIZE: String(TILE) } })
    worker = startWorkerProcess(relay.url)
  }, 60_000)
  afterAll(async () => {
    await worker?.interrupt(10_000)
    await relay?.stop()
  })

  it('streams every tile as it is accepted, resumes after a seq, and pages the same results', async () => {
    const a = randomMatrix(M, K, 5)
    const b = randomMatrix(K, N, 6)
    const put = async (data: Float32Array) => {
      const body = new Uint8Array(
        data.buffer,
        data.byteOffset,
        data.byteLength,
      ) as Uint8Array<ArrayBuffer>
      const response = await api('/v1/blobs', { method: 'PUT', body })
      return ((await response.json()) as { blob: string }).blob
    }
    const spec = {
      kernel: 'matmul',
      inputs: {
        a: { blob: await put(a), dtype: 'float32', shape: [M, K] },
        b: { blob: await put(b), dtype: 'float32', shape: [K, N] },
      },
    }
    const created = await api('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }

    const live = await readStream(await api(`/v1/jobs/${id}/events`))
    const liveResults = live.filter((e) => e.event === 'result')
    expect(liveResults.map((e) => Number(e.id))).toEqual(
      Array.from({ length: TILES }, (_, i) => i + 1),
    )
    expect(live.at(-1)).toMatchObject({ event: 'completed', id: String(TILES) })
    expect(JSON.parse(live.at(-1)!.data)).toMatchObject({ job: { id, status: 'completed' } })

    const resumed = await readStream(
      await api(`/v1/jobs/${id}/events`, { headers: { 'last-event-id': '4' } }),
    )
    expect(resumed.filter((e) => e.event === 'result').map((e) => Number(e.id))).toEqual(
      Array.from({ length: TILES - 4 }, (_, i) => i + 5),
    )
    expect(resumed.at(-1)?.event).toBe('completed')

    const first = (await (await api(`/v1/jobs/${id}/results?limit=4`)).json()) as {
      results: Result[]
    }
    const rest = (await (await api(`/v1/jobs/${id}/results?after=4`)).json()) as {
      results: Result[]
      done: boolean
    }
    const results = [...first.results, ...rest.results]
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: TILES }, (_, i) => i + 1))
    expect(new Set(results.map((r) => r.index)).size).toBe(TILES)
    expect(results).toEqual(liveResults.map((e) => JSON.parse(e.data)))

    // Each tile's output blob holds its part of C = A·B.
    const c = product(a, b)
    const tilesPerRow = Math.ceil(N / TILE)
    for (const result of results) {
      const [ref] = result.outputs
      const tile = new Float32Array(await (await api(`/v1/blobs/${ref!.blob}`)).arrayBuffer())
      const [rows, cols] = ref!.shape as [number, number]
      const row0 = Math.floor(result.index / tilesPerRow) * TILE
      const col0 = (result.index % tilesPerRow) * TILE
      expect(tile.length).toBe(rows * cols)
      for (let r = 0; r < rows; r++)
        for (let q = 0; q < cols; q++)
          expect(Math.abs(tile[r * cols + q]! - c[(row0 + r) * N + col0 + q]!)).toBeLessThan(1e-3)
    }

    const npy = new Uint8Array(await (await api(`/v1/jobs/${id}/output?format=npy`)).arrayBuffer())
    const headerLength = npy[8]! | (npy[9]! << 8)
    expect(new TextDecoder().decode(npy.subarray(10, 10 + headerLength))).toContain(
      `'shape': (${M}, ${N})`,
    )
    const data = new Float32Array(npy.slice(10 + headerLength).buffer)
    expect(data.length).toBe(M * N)
    expect(Math.max(...data.map((x, i) => Math.abs(x - c[i]!)))).toBeLessThan(1e-3)
  }, 120_000)
})

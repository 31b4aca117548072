import { encodeNpy, type JobView } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { createClient } from './client.ts'
import { InvalidInputError, RelayResponseError } from './client-errors.ts'

/** A client whose fetch records each URL and answers `body` as JSON. */
function recordingClient(body: unknown) {
  const urls: string[] = []
  const fetch = (async (url: string) => {
    urls.push(String(url))
    return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
  }) as unknown as typeof globalThis.fetch
  return { client: createClient({ relay: 'http://relay.test', fetch }), urls }
}

describe('the client', () => {
  it('lists jobs by id prefix, and refuses a prefix the relay would, before asking', async () => {
    const { client, urls } = recordingClient({ jobs: [] })
    await client.listJobs({ idPrefix: '3f2a', limit: 2 })
    expect(urls).toEqual(['http://relay.test/v1/jobs?limit=2&idPrefix=3f2a'])
    await expect(client.listJobs({ idPrefix: 'a/b' })).rejects.toThrow(InvalidInputError)
    await expect(client.listJobs({ idPrefix: 'x'.repeat(65) })).rejects.toThrow(/1 to 64/)
    expect(urls).toHaveLength(1)
  })

  it('asks for a job in detail and for the public stats where the API has them', async () => {
    const { client, urls } = recordingClient({})
    await client.jobDetail('j 1')
    await client.job('j2').detail()
    await client.stats()
    expect(urls).toEqual([
      'http://relay.test/v1/jobs/j%201/detail',
      'http://relay.test/v1/jobs/j2/detail',
      'http://relay.test/v1/stats',
    ])
  })

  describe("a matmul job's product as .npy", () => {
    /** A relay that knows one job, `view`, and answers `npy` as its product. */
    function relayWith(view: Partial<JobView>, npy: Uint8Array) {
      const urls: string[] = []
      const fetch = (async (url: string) => {
        urls.push(String(url))
        if (String(url).includes('/output'))
          return new Response(npy as Uint8Array<ArrayBuffer>, {
            headers: { 'content-type': 'application/x-npy' },
          })
        return new Response(JSON.stringify({ id: 'j1', ...view }), {
          headers: { 'content-type': 'application/json' },
        })
      }) as unknown as typeof globalThis.fetch
      return { client: createClient({ relay: 'http://relay.test', fetch }), urls }
    }
    const product = encodeNpy({
      dtype: 'float32',
      shape: [2, 3],
      data: Float32Array.of(1, 2, 3, 4, 5, 6),
    })

    it('reads it, checked against the m×n of the job', async () => {
      const { client, urls } = relayWith({ kernel: 'matmul', args: { m: 2, k: 4, n: 3 } }, product)
      const c = await client.matmulOutput('j1')
      expect(c).toEqual({
        dtype: 'float32',
        shape: [2, 3],
        data: Float32Array.of(1, 2, 3, 4, 5, 6),
      })
      expect(urls).toEqual([
        'http://relay.test/v1/jobs/j1',
        'http://relay.test/v1/jobs/j1/output?format=npy',
      ])
    })

    it('refuses a product of another shape, or bytes that are no .npy', async () => {
      const wrong = relayWith({ kernel: 'matmul', args: { m: 3, k: 4, n: 2 } }, product)
      await expect(wrong.client.matmulOutput('j1')).rejects.toThrow(RelayResponseError)
      await expect(wrong.client.matmulOutput('j1')).rejects.toThrow(
        /as float32 \(2, 3\); the job is float32 \(3, 2\)/,
      )
      const garbage = relayWith(
        { kernel: 'matmul', args: { m: 2, k: 4, n: 3 } },
        new TextEncoder().encode('<html>'),
      )
      await expect(garbage.client.matmulOutput('j1')).rejects.toThrow(
        /\.npy of job j1's product: not a \.npy/,
      )
    })

    it('refuses a custom job, before asking for an output it does not have', async () => {
      const { client, urls } = relayWith({ kernel: 'custom' }, product)
      await expect(client.matmulOutput('j1')).rejects.toThrow(InvalidInputError)
      expect(urls).toEqual(['http://relay.test/v1/jobs/j1'])
    })
  })
})

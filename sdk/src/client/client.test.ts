import { describe, expect, it } from 'vitest'
import { createClient } from './client.ts'
import { InvalidInputError } from './client-errors.ts'

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
})

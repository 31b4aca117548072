import { createHash } from 'node:crypto'
import { JobDetailSchema, type JobList, type JobView } from '@tabswarm/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../blobs/blob-store.ts'
import type { Coordinator } from '../coordinator/coordinator.ts'
import { blobSpec, caps, make, submitHonest } from '../coordinator/testing/coordinator-fixture.ts'
import type { Logger } from '../log.ts'
import { createApi } from './api.ts'
import { createApiKeyRing } from './auth/api-keys.ts'
import { createWalletAuthenticator } from './auth/wallet-auth.ts'

// The routes of the researcher's view of a job, over a real coordinator: its detail, the
// id prefixes a person names a job by, and a cancel that comes too late.

const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' }

/** A logger that keeps its lines' messages. */
function recordingLogger(lines: string[] = []): Logger {
  const keep = (msg: string) => void lines.push(msg)
  return { info: keep, warn: keep, error: keep, debug: keep, child: () => recordingLogger(lines) }
}

const coordinators: Coordinator[] = []
afterEach(() => {
  for (const c of coordinators.splice(0)) c.close()
})

function setup() {
  const blobs = createMemoryBlobStore()
  const jobs = make({ blobs, tileSize: 2, spotCheckRate: 0 })
  coordinators.push(jobs)
  const lines: string[] = []
  const app = createApi({
    jobs,
    blobs,
    log: recordingLogger(lines),
    swarm: () => ({ peerId: '12D3KooTest', multiaddrs: [] }),
    rateLimit: false,
    auth: {
      keys: createApiKeyRing(
        Object.entries(KEYS).map(([account, key]) => ({
          account,
          sha256: createHash('sha256').update(key).digest('hex'),
        })),
      ),
      wallet: createWalletAuthenticator({ relayPeerId: '12D3KooTest' }),
      openToLocal: false,
    },
  })
  const as =
    (who: keyof typeof KEYS) =>
    (path: string, init: RequestInit = {}) =>
      app.request(path, {
        ...init,
        headers: { authorization: `Bearer ${KEYS[who]}`, ...init.headers },
      })
  const submit = async (who: keyof typeof KEYS, m = 2) => {
    const response = await as(who)('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(blobSpec(blobs, m, 2, 2)),
    })
    expect(response.status).toBe(201)
    return (await response.json()) as JobView
  }
  return { jobs, lines, as, submit }
}

const errorOf = async (response: Response) => ({
  status: response.status,
  ...((await response.json()) as { error: { code: string; message: string } }).error,
})

describe('HTTP API: a job in detail, id prefixes, and cancel of an ended job', () => {
  it('GET /v1/jobs/:id/detail answers the owner with the job in detail, and others 404', async () => {
    const { jobs, as, submit } = setup()
    const job = await submit('alice', 4)
    jobs.registerContributor('p1', caps)
    expect(submitHonest(jobs, 'p1', jobs.lease('p1')!).outcome).toBe('accepted')
    jobs.lease('p1')

    const response = await as('alice')(`/v1/jobs/${job.id}/detail`)
    expect(response.status).toBe(200)
    const detail = JobDetailSchema.parse(await response.json())
    expect(detail.job).toMatchObject({ id: job.id, status: 'running' })
    expect(detail.job.waiting).toMatchObject({ reason: 'computing', tasks: 1 })
    expect(detail.tasks).toEqual({
      total: 2,
      queued: 0,
      leased: 1,
      awaitingSecondOpinion: 0,
      awaitingConfirmation: 0,
      accepted: 1,
    })
    expect(detail.verification).toMatchObject({ recomputed: 1, rejected: 0 })
    expect(detail.flops).toBe(2 * 4 * 2 * 2)
    expect(detail.history.length).toBeGreaterThanOrEqual(1)

    expect(await errorOf(await as('bob')(`/v1/jobs/${job.id}/detail`))).toMatchObject({
      status: 404,
      code: 'JOB_NOT_FOUND',
    })
    expect(await errorOf(await as('alice')('/v1/jobs/no%20such/detail'))).toMatchObject({
      status: 400,
      code: 'INVALID_ID',
    })
  })

  it('GET /v1/jobs?idPrefix= finds the caller’s jobs by the start of their id, as a string', async () => {
    const { as, submit } = setup()
    // 17 jobs of 16 possible first hex digits: two share one, so a one-character prefix is ambiguous.
    const mine: JobView[] = []
    for (let i = 0; i < 17; i++) mine.push(await submit('alice'))
    const theirs = await submit('bob')
    const list = async (query: string, who: keyof typeof KEYS = 'alice') => {
      const response = await as(who)(`/v1/jobs?${query}`)
      expect(response.status).toBe(200)
      return ((await response.json()) as JobList).jobs.map((j) => j.id)
    }

    const target = mine[5]!
    expect(await list(`idPrefix=${target.id.slice(0, 12)}`)).toEqual([target.id])
    expect(await list(`idPrefix=${target.id}`)).toEqual([target.id])

    const first = new Map<string, string[]>()
    for (const j of mine) first.set(j.id[0]!, [...(first.get(j.id[0]!) ?? []), j.id])
    const [shared, ids] = [...first].find(([, ids]) => ids.length > 1)!
    const ambiguous = await list(`idPrefix=${shared}&limit=2`)
    expect(ambiguous).toHaveLength(2)
    expect(ids).toEqual(expect.arrayContaining(ambiguous))

    // `_` is a character of ids, not a wildcard: "<c>_" matches no UUID, though LIKE would.
    expect(await list(`idPrefix=${target.id[0]}_`)).toEqual([])
    // Another owner's job is not the caller's, whatever its id.
    expect(await list(`idPrefix=${theirs.id}`)).toEqual([])
    expect(await list(`idPrefix=${theirs.id}`, 'bob')).toEqual([theirs.id])

    for (const bad of ['', 'a%25', 'x'.repeat(65), 'a.b'])
      expect(await errorOf(await as('alice')(`/v1/jobs?idPrefix=${bad}`))).toMatchObject({
        status: 400,
        code: 'INVALID_QUERY',
        message: expect.stringContaining('idPrefix'),
      })
  })

  it('POST /v1/jobs/:id/cancel on an ended job is 409 JOB_FINISHED, and logs no cancel', async () => {
    const { lines, as, submit } = setup()
    const job = await submit('alice')
    const first = await as('alice')(`/v1/jobs/${job.id}/cancel`, { method: 'POST' })
    expect(first.status).toBe(200)
    expect(await first.json()).toMatchObject({ id: job.id, status: 'cancelled' })
    expect(lines.filter((l) => l === 'job cancelled')).toHaveLength(1)

    const again = await as('alice')(`/v1/jobs/${job.id}/cancel`, { method: 'POST' })
    expect(await errorOf(again)).toEqual({
      status: 409,
      code: 'JOB_FINISHED',
      message: `job ${job.id} already cancelled; nothing to cancel`,
    })
    expect(lines.filter((l) => l === 'job cancelled')).toHaveLength(1)
    // Someone else's job stays invisible, ended or not.
    expect((await as('bob')(`/v1/jobs/${job.id}/cancel`, { method: 'POST' })).status).toBe(404)
  })

  it('a completed job: 409 "already completed"', async () => {
    const { jobs, as, submit } = setup()
    const job = await submit('alice')
    jobs.registerContributor('p1', caps)
    for (let grant = jobs.lease('p1'); grant; grant = jobs.lease('p1'))
      submitHonest(jobs, 'p1', grant)
    expect((await jobs.getJob(job.id)).status).toBe('completed')
    expect(
      await errorOf(await as('alice')(`/v1/jobs/${job.id}/cancel`, { method: 'POST' })),
    ).toEqual({
      status: 409,
      code: 'JOB_FINISHED',
      message: `job ${job.id} already completed; nothing to cancel`,
    })
  })
})

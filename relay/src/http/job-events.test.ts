import { type JobView, TokensEventSchema } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import type { JobEvent } from '../coordinator/coordinator-api.ts'
import { jobEventFeed } from './job-event-feed.ts'
import { createTestApi } from './testing/test-api.ts'

/** Reads SSE events from a response until `stop` says so or the stream ends. */
async function readEvents(response: Response, stop: (events: SseEvent[]) => boolean) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const events: SseEvent[] = []
  let buffer = ''
  try {
    while (!stop(events)) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event: SseEvent = { event: 'message', id: '', data: '', comment: false }
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) event.comment = true
          else if (line.startsWith('event:')) event.event = line.slice(6).trim()
          else if (line.startsWith('id:')) event.id = line.slice(3).trim()
          else if (line.startsWith('data:')) event.data += line.slice(5).trim()
        }
        events.push(event)
      }
    }
  } finally {
    await reader.cancel()
  }
  return events
}
interface SseEvent {
  event: string
  id: string
  data: string
  comment: boolean
}

const spec = {
  kernel: 'custom' as const,
  program: { wgsl: 'x', inputs: [], outputs: [{ name: 'o', dtype: 'float32' as const }] },
  tasks: [
    {
      inputs: [],
      outputs: [{ shape: [4], dtype: 'float32' as const }],
      workgroups: [1, 1, 1] as [number, number, number],
    },
  ],
}

describe('HTTP API: job events over SSE', () => {
  it('carries an inference job’s tokens as `event: tokens`, its data the TokensEvent', async () => {
    const view = { id: 'j1', kernel: 'inference', status: 'running' } as unknown as JobView
    let listener: ((event: JobEvent) => void) | undefined
    const feed = jobEventFeed(
      {
        subscribe: (_id, l) => {
          listener = l
          return () => {}
        },
        results: async () => ({ results: [], cursor: 0, done: false }),
        getJob: async () => view,
      },
      'j1',
    )
    expect((await feed.next()).value).toMatchObject({ event: 'progress' })
    const tokens = { type: 'tokens' as const, sequence: 1, from: 0, tokens: [5, 6] }
    listener!({ type: 'tokens', job: view, tokens })
    listener!({
      type: 'tokens',
      job: view,
      tokens: { ...tokens, from: 2, tokens: [], finish: 'stop' },
    })
    listener!({ type: 'completed', job: { ...view, status: 'completed' } })
    const rest = []
    for await (const event of feed) rest.push(event)
    expect(rest.map((e) => e.event)).toEqual(['tokens', 'tokens', 'completed'])
    expect(TokensEventSchema.parse(JSON.parse(rest[0]!.data))).toEqual(tokens)
    expect(JSON.parse(rest[1]!.data)).toMatchObject({ from: 2, finish: 'stop' })
  })

  it('replays results after the cursor, then streams live events to the end', async () => {
    const { app, jobs, metrics } = createTestApi({ heartbeatMs: 20 })
    const openStreams = async () =>
      /tabswarm_event_streams_open\{transport="sse"\} (\d+)/.exec(
        (await metrics.render()).body,
      )?.[1]
    const job = await jobs.submit(spec, { account: 'local' })
    jobs.accept(job.id, 0)
    jobs.accept(job.id, 1)
    const response = await app.request(`/v1/jobs/${job.id}/events`, {
      headers: { 'last-event-id': '1' },
    })
    await expect.poll(openStreams).toBe('1')
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    setTimeout(() => {
      jobs.accept(job.id, 2)
      // Let a heartbeat through before the end.
      setTimeout(() => jobs.finish(job.id, 'completed'), 60)
    }, 30)
    const events = await readEvents(response, (seen) => seen.some((e) => e.event === 'completed'))
    const real = events.filter((e) => !e.comment)
    expect(real.map((e) => `${e.event}:${e.id}`)).toEqual([
      'result:2',
      'progress:2',
      'result:3',
      'progress:3',
      'completed:3',
    ])
    expect(JSON.parse(real[0]!.data)).toMatchObject({ seq: 2, index: 1 })
    expect(JSON.parse(real.at(-1)!.data)).toMatchObject({ job: { status: 'completed' } })
    expect(events.some((e) => e.comment)).toBe(true)
    expect(jobs.subscribers(job.id)).toBe(0)
    await expect.poll(openStreams).toBe('0')
  })

  it('ends at once with the terminal state for a finished job', async () => {
    const { app, jobs } = createTestApi()
    const job = await jobs.submit(spec, { account: 'local' })
    jobs.accept(job.id, 0)
    await jobs.cancel(job.id)
    const events = await readEvents(await app.request(`/v1/jobs/${job.id}/events`), () => false)
    expect(events.map((e) => e.event)).toEqual(['result', 'cancelled'])
  })

  it('with ?results=false carries the states only: no result replayed or sent', async () => {
    const { app, jobs } = createTestApi()
    const job = await jobs.submit(spec, { account: 'local' })
    jobs.accept(job.id, 0)
    const response = await app.request(`/v1/jobs/${job.id}/events?results=false`)
    expect(response.status).toBe(200)
    setTimeout(() => {
      for (let i = 1; i < 4; i++) jobs.accept(job.id, i)
      setTimeout(() => jobs.finish(job.id, 'completed'), 20)
    }, 20)
    const events = await readEvents(response, (seen) => seen.some((e) => e.event === 'completed'))
    const real = events.filter((e) => !e.comment)
    expect(real.every((e) => e.event !== 'result')).toBe(true)
    expect(real.at(-1)).toMatchObject({ event: 'completed', id: '0' })
    expect(real.filter((e) => e.event === 'progress').length).toBeGreaterThanOrEqual(1)
  })

  it('refuses ?results= other than true or false', async () => {
    const { app, jobs } = createTestApi()
    const job = await jobs.submit(spec, { account: 'local' })
    const response = await app.request(`/v1/jobs/${job.id}/events?results=no`)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      error: { code: 'INVALID_QUERY', message: expect.stringContaining('results') },
    })
  })

  it('refuses a malformed Last-Event-ID before streaming', async () => {
    const { app, jobs } = createTestApi()
    const job = await jobs.submit(spec, { account: 'local' })
    const response = await app.request(`/v1/jobs/${job.id}/events`, {
      headers: { 'last-event-id': 'abc' },
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      error: { message: expect.stringContaining('Last-Event-ID') },
    })
  })
})

describe('job event feed', () => {
  it('states only: results do not count toward what is held for a slow reader', async () => {
    const { jobs } = createTestApi()
    const job = await jobs.submit(spec, { account: 'local' })
    const feed = jobEventFeed(jobs, job.id, { results: false, maxPending: 2 })
    expect((await feed.next()).value).toMatchObject({ event: 'progress' })
    // The reader is slow: four results (and their progress, coalesced) arrive before it reads on.
    for (let i = 0; i < 4; i++) jobs.accept(job.id, i)
    jobs.finish(job.id, 'completed')
    const rest: string[] = []
    for await (const event of feed) rest.push(event.event)
    // With results queued, the two held events would be results and the feed would end short.
    expect(rest).toEqual(['progress', 'completed'])
  })
})

import { describe, expect, it } from 'vitest'
import { createJsonLogger, type LogLevel } from '../log.ts'
import { createTestApi } from './testing/test-api.ts'

describe('HTTP API: request logs', () => {
  const capture = (level: LogLevel) => {
    const lines: Array<Record<string, unknown>> = []
    const log = createJsonLogger({ level, write: (line) => lines.push(JSON.parse(line)) })
    return { log, lines }
  }

  it('logs answered requests at debug only: the default level (info) shows none', async () => {
    const info = capture('info')
    const quiet = createTestApi({ log: info.log }).app
    expect((await quiet.request('/v1/jobs')).status).toBe(200)
    expect((await quiet.request('/v1/nowhere')).status).toBe(404)
    expect(info.lines.filter((l) => l.msg === 'request')).toEqual([])

    // TABSWARM_LOG_LEVEL=debug shows them, with what an operator looks for.
    const debug = capture('debug')
    const verbose = createTestApi({ log: debug.log }).app
    await verbose.request('/v1/jobs')
    expect(debug.lines.filter((l) => l.msg === 'request')).toEqual([
      expect.objectContaining({
        level: 'debug',
        method: 'GET',
        path: '/v1/jobs',
        route: '/v1/jobs',
        status: 200,
        account: 'local',
      }),
    ])
  })

  it('still logs a 5xx as an error at the default level', async () => {
    const { log, lines } = capture('info')
    const { app, jobs } = createTestApi({ log })
    jobs.listJobs = async () => {
      throw new Error('the store is gone')
    }
    expect((await app.request('/v1/jobs')).status).toBe(500)
    expect(lines.filter((l) => l.msg === 'request')).toEqual([
      expect.objectContaining({ level: 'error', status: 500, path: '/v1/jobs' }),
    ])
  })
})

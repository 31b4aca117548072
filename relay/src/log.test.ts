import { describe, expect, it } from 'vitest'
import { createJsonLogger } from './log.ts'

describe('JSON logger', () => {
  const capture = (level?: 'debug' | 'info' | 'warn' | 'error') => {
    const lines: Array<Record<string, unknown>> = []
    const log = createJsonLogger({
      ...(level ? { level } : {}),
      write: (line) => lines.push(JSON.parse(line)),
      now: () => new Date(0),
    })
    return { log, lines }
  }

  it('writes one JSON object per line with time, level, component and fields', () => {
    const { log, lines } = capture()
    log.child('http').info('request', { requestId: 'r1', status: 200 })
    expect(lines).toEqual([
      {
        t: '1970-01-01T00:00:00.000Z',
        level: 'info',
        component: 'tabswarm:http',
        msg: 'request',
        requestId: 'r1',
        status: 200,
      },
    ])
  })

  it('drops lines below the configured level', () => {
    const { log, lines } = capture('warn')
    log.debug?.('a')
    log.info('b')
    log.warn('c')
    log.error('d')
    expect(lines.map((l) => l.msg)).toEqual(['c', 'd'])
  })

  it('never writes credentials, at any depth', () => {
    const { log, lines } = capture()
    log.info('x', {
      headers: { Authorization: 'Bearer tsk_secret', 'x-tabswarm-signature': '0xsig' },
      apiKey: 'tsk_secret',
      nested: [{ privateKey: '0xkey' }],
      error: new Error('boom'),
    })
    const text = JSON.stringify(lines)
    expect(text).not.toMatch(/tsk_secret|0xsig|0xkey/)
    expect(lines[0]).toMatchObject({ error: { name: 'Error', message: 'boom' } })
  })
})

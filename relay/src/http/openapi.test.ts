import { WALLET_AUTH_HEADERS } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { openApiPath } from './openapi.ts'
import { createTestApi } from './testing/test-api.ts'

interface Operation {
  requestBody: { content: Record<string, { schema: unknown }> }
  responses: Record<string, unknown>
  parameters: Array<{ name: string; in: string; required: boolean }>
  security: unknown[]
}

describe('OpenAPI description', () => {
  it('describes every route the app serves, and only those', async () => {
    const { app } = createTestApi()
    const doc = (await (await app.request('/v1/openapi.json')).json()) as {
      openapi: string
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
    }
    expect(doc.openapi).toBe('3.1.0')
    const served = new Set(
      app.routes
        .filter((r) => r.method !== 'ALL' && !r.path.endsWith('*'))
        .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`),
    )
    const described = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m} ${path}`),
      ),
    )
    expect([...served].sort()).toEqual([...described].sort())
    for (const route of [
      'post /v1/jobs',
      'get /v1/jobs/{id}/events',
      'put /v1/blobs',
      'get /metrics',
    ])
      expect(served.has(route), route).toBe(true)
  })

  it('carries the job spec, parameters and error answers from the zod schemas', async () => {
    const { app } = createTestApi()
    // Walked as plain JSON: the test checks shapes, the types would only restate them.
    const doc = (await (await app.request('/v1/openapi.json')).json()) as {
      paths: Record<string, Record<string, Operation>>
    }
    const submit = doc.paths['/v1/jobs']!.post!
    const spec = submit.requestBody.content['application/json']!.schema
    expect(JSON.stringify(spec)).toContain('"matmul"')
    expect(JSON.stringify(spec)).toContain('"custom"')
    expect(Object.keys(submit.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '413', '429']),
    )
    const list = doc.paths['/v1/jobs']!.get!
    expect(list.parameters.map((p) => p.name)).toEqual(['status', 'idPrefix', 'limit', 'cursor'])
    const job = doc.paths['/v1/jobs/{id}']!.get!
    expect(job.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true })
    const detail = doc.paths['/v1/jobs/{id}/detail']!.get!
    expect(detail.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true })
    expect(JSON.stringify(detail.responses['200'])).toContain('awaitingSecondOpinion')
    expect(Object.keys(doc.paths['/v1/jobs/{id}/cancel']!.post!.responses)).toEqual(
      expect.arrayContaining(['200', '404', '409']),
    )
    expect(doc.paths['/v1/health']!.get!.security).toEqual([])
    expect(Object.keys(doc.paths['/v1/blobs']!.put!.responses)).toEqual(
      expect.arrayContaining(['201', '401', '408', '413', '429', '503']),
    )
  })

  it('names every header of a wallet signature', async () => {
    const { app } = createTestApi()
    const doc = (await (await app.request('/v1/openapi.json')).json()) as {
      components: { securitySchemes: { walletSignature: { name: string; description: string } } }
    }
    const { name, description } = doc.components.securitySchemes.walletSignature
    expect(name).toBe(WALLET_AUTH_HEADERS.signature)
    const { signature: _scheme, ...others } = WALLET_AUTH_HEADERS
    for (const header of Object.values(others)) expect(description, header).toContain(header)
    expect(description).toContain('version 2')
  })
})

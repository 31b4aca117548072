import { ApiErrorBodySchema } from '@tabswarm/protocol'
import { z } from 'zod'
import type { RouteDoc } from './route-docs.ts'

function jsonSchema(schema: z.ZodType, io: 'input' | 'output') {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  })
  // OpenAPI 3.1 documents are 2020-12 already; a `$schema` on every fragment is noise.
  return rest
}

/** `/v1/jobs/:id` -> `/v1/jobs/{id}` */
export const openApiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

function parameters(route: RouteDoc) {
  const out: unknown[] = []
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (schema == null) continue
    const json = jsonSchema(schema, 'input') as {
      properties?: Record<string, unknown>
      required?: string[]
    }
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (json.required ?? []).includes(name),
        schema: property,
      })
    }
  }
  return out
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: jsonSchema(ApiErrorBodySchema, 'output') } },
})

/**
 * An OpenAPI 3.1 document for `routes`, generated from the same zod schemas the handlers
 * parse with. Every route also documents its `{ error: { code, message } }` answers.
 */
export function buildOpenApiDocument(
  routes: readonly RouteDoc[],
  info: { title: string; version: string },
) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const responses: Record<string, unknown> = {}
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(response.headers).map(([name, description]) => [
                  name,
                  { description, schema: { type: 'string' } },
                ]),
              ),
            }
          : {}),
        ...(response.contentType
          ? {
              content: {
                [response.contentType]: {
                  schema: response.schema ? jsonSchema(response.schema, 'output') : {},
                },
              },
            }
          : {}),
      }
    }
    if (route.params || route.query || route.body)
      responses['400'] ??= errorResponse('Invalid request: the message names the field')
    if (route.body) responses['413'] ??= errorResponse(`Body over ${route.body.maxBytes} bytes`)
    if (route.auth) responses['401'] ??= errorResponse('Missing or invalid credentials')
    responses['429'] ??= errorResponse('Rate limited; see Retry-After')
    const operation = {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
      ...(route.auth ? { security: [{ apiKey: [] }, { walletSignature: [] }] } : { security: [] }),
      parameters: parameters(route),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              ...(route.body.description ? { description: route.body.description } : {}),
              content: {
                [route.body.contentType]: {
                  schema: route.body.schema
                    ? jsonSchema(route.body.schema, 'input')
                    : { type: 'string', format: 'binary' },
                },
              },
            },
          }
        : {}),
      responses,
    }
    const path = openApiPath(route.path)
    paths[path] ??= {}
    paths[path][route.method] = operation
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <api key>' },
        walletSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'x-tabswarm-signature',
          description:
            'EIP-712 signature of Request{method, path, bodySha256, timestamp, nonce, relay} (domain "Tabswarm API" ' +
            'version 2) with x-tabswarm-address, x-tabswarm-timestamp (ms), x-tabswarm-nonce (fresh per request), ' +
            "x-tabswarm-relay (the relay's libp2p peer id, GET /v1/swarm's peerId) and x-tabswarm-content-sha256 " +
            '(0x + hex sha-256 of the body) headers. Everything is checked from the headers before the body is read; ' +
            'the body must then hash to x-tabswarm-content-sha256 (400 BODY_HASH_MISMATCH). A signature for another ' +
            'relay is refused (401 WRONG_RELAY), a nonce used before is refused (401 SIGNATURE_REPLAYED, kept across ' +
            'restarts), and a version 1 signature is refused (401 SIGNATURE_OUTDATED). See protocol/api-auth.ts',
        },
      },
    },
  }
}

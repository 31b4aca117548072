import { deeplyNested, EDGE_VALUES, RAW_JSON_EDGES } from './fuzz-edge-values.ts'
import { mutateJson } from './json-mutation.ts'
import type { SeededRandom } from './seeded-random.ts'

/** One HTTP request a fuzz case sends. */
export interface HttpCase {
  kind: string
  change: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Uint8Array | string
}

/** A route of the OpenAPI description, with `{param}` placeholders. */
export interface FuzzRoute {
  method: string
  path: string
}

/** Real ids on the relay, so some cases reach past the id checks. */
export interface HttpFuzzContext {
  routes: FuzzRoute[]
  jobId: string
  blobA: string
  blobB: string
}

const PARAM_EDGES = [
  '',
  '..',
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '%ff%fe',
  'a'.repeat(65),
  'a'.repeat(5000),
  '0x',
  `0x${'0'.repeat(40)}`,
  `0X${'g'.repeat(40)}`,
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
  '-1',
  'NaN',
  '9007199254740993',
  '%F0%9F%92%A5',
  'treasury',
  'escrow:x',
  'pending:a:b',
  '__proto__',
  'constructor',
]

const QUERY_KEYS = ['limit', 'after', 'cursor', 'status', 'format', 'results', 'x', '__proto__']
const QUERY_VALUES = [
  '',
  '-1',
  '0',
  '-0',
  '1e999',
  'NaN',
  'Infinity',
  '1.5',
  '9007199254740993',
  '1e3',
  '0x10',
  'true',
  'false',
  'raw',
  'npy',
  'running',
  'a'.repeat(300),
  '%00',
  '[]',
  '{}',
]

const HEADER_CASES: Array<Record<string, string>> = [
  { 'content-type': 'text/plain' },
  { 'content-type': 'application/json; charset=utf-16' },
  { 'content-type': 'multipart/form-data; boundary=x' },
  { 'x-api-key': 'junk' },
  { authorization: 'Bearer junk' },
  { authorization: `Bearer ${'a'.repeat(4000)}` },
  { 'x-tabswarm-signature': '0x1234' },
  {
    'x-tabswarm-signature': `0x${'ab'.repeat(65)}`,
    'x-tabswarm-address': `0x${'11'.repeat(20)}`,
    'x-tabswarm-timestamp': String(Date.now()),
    'x-tabswarm-nonce': 'n'.repeat(40),
  },
  { 'x-tabswarm-address': 'not-an-address', 'x-tabswarm-timestamp': 'NaN' },
  { 'last-event-id': '-1' },
  { 'last-event-id': '9'.repeat(40) },
  { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' },
  { origin: 'https://evil.example' },
  { accept: 'text/event-stream' },
]

function fillPath(path: string, rng: SeededRandom, ctx: HttpFuzzContext, fuzz: boolean): string {
  return path.replace(/\{(\w+)\}|:(\w+)/g, (_, a?: string, b?: string) => {
    const name = a ?? b
    if (fuzz && rng.chance(0.7))
      return encodeURIComponent(rng.pick(PARAM_EDGES)).replace(/%25/g, '%')
    if (name === 'hash') return rng.pick([ctx.blobA, ctx.blobB])
    if (name === 'address') return rng.pick(['local', `0x${'22'.repeat(20)}`, 'someone-else'])
    return ctx.jobId
  })
}

function validSpec(ctx: HttpFuzzContext) {
  return {
    kernel: 'matmul',
    inputs: {
      a: { blob: ctx.blobA, dtype: 'float32', shape: [4, 4] },
      b: { blob: ctx.blobB, dtype: 'float32', shape: [4, 4] },
    },
    name: 'fuzz',
  }
}

/**
 * One HTTP case against a route of the OpenAPI description (or a made-up one): fuzzed
 * path parameters, query strings with edge numbers, junk auth and content headers, and
 * bodies that are random bytes, raw JSON edges, deeply nested, or mutated valid specs.
 */
export function httpCase(rng: SeededRandom, ctx: HttpFuzzContext): HttpCase {
  const route = rng.chance(0.05)
    ? {
        method: rng.pick(['get', 'post', 'delete', 'patch']),
        path: rng.pick(['/v1/', '/v1/jobs/x/y/z', '/v1//jobs', '/v1/%2e%2e/etc', '/metrics/x']),
      }
    : rng.pick(ctx.routes)
  const method = rng.chance(0.05)
    ? rng.pick(['HEAD', 'OPTIONS', 'DELETE', 'PATCH', 'PUT'])
    : route.method.toUpperCase()
  const kind = rng.pick([
    'path',
    'query',
    'headers',
    'body-random',
    'body-raw-json',
    'body-deep',
    'body-mutated',
    'body-mutated',
    'valid',
  ] as const)
  const path = fillPath(route.path, rng, ctx, kind === 'path')
  let query = ''
  if (kind === 'query' || rng.chance(0.1)) {
    const pairs = Array.from(
      { length: 1 + rng.int(3) },
      () => `${rng.pick(QUERY_KEYS)}=${encodeURIComponent(rng.pick(QUERY_VALUES))}`,
    )
    query = `?${pairs.join('&')}`
  }
  const headers: Record<string, string> = {}
  const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE'
  if (hasBody)
    headers['content-type'] =
      route.path === '/v1/blobs' ? 'application/octet-stream' : 'application/json'
  if (kind === 'headers') Object.assign(headers, rng.pick(HEADER_CASES))
  let body: Uint8Array | string | undefined
  let change =
    kind === 'path'
      ? `path ${path}`
      : kind === 'query'
        ? `query ${query}`
        : kind === 'headers'
          ? `headers ${JSON.stringify(headers).slice(0, 120)}`
          : kind
  if (hasBody) {
    switch (kind) {
      case 'body-random':
        body = rng.bytes(rng.int(rng.chance(0.05) ? 200_000 : 400))
        change = `${body.byteLength} random bytes`
        break
      case 'body-raw-json': {
        const edge = rng.pick(RAW_JSON_EDGES)
        body = rng.chance(0.3)
          ? edge
          : JSON.stringify(validSpec(ctx)).replace('"fuzz"', edge).replace('[4,4]', `[${edge},4]`)
        change = `raw JSON ${edge}`
        break
      }
      case 'body-deep': {
        const depth = rng.pick([100, 1_000, 10_000, 100_000])
        const nested = deeplyNested(depth, rng.chance(0.5) ? 'array' : 'object')
        body = rng.chance(0.5)
          ? nested
          : JSON.stringify({ ...validSpec(ctx), verification: '@@' }).replace('"@@"', nested)
        change = `${depth} levels of nesting`
        break
      }
      case 'body-mutated': {
        const mutated = mutateJson(validSpec(ctx), rng)
        body = JSON.stringify(mutated.value) ?? 'null'
        change = `spec ${mutated.change}`
        break
      }
      default:
        body =
          route.path === '/v1/blobs'
            ? rng.bytes(rng.int(64))
            : JSON.stringify(rng.chance(0.1) ? rng.pick(EDGE_VALUES) : validSpec(ctx))
    }
  }
  return {
    kind,
    change,
    method,
    path: `${path}${query}`,
    headers,
    ...(body != null ? { body } : {}),
  }
}

import { encodeLengthPrefix } from '@tabswarm/protocol'
import { deeplyNested, RAW_JSON_EDGES } from './fuzz-edge-values.ts'
import { mutateJson } from './json-mutation.ts'
import type { SeededRandom } from './seeded-random.ts'

/** Bytes one fuzz case writes on a fresh stream, and what they are meant to break. */
export interface WireCase {
  kind: string
  change: string
  bytes: Uint8Array
}

/** A lease the fuzzing peer really holds, so results for it reach the payload checks. */
export interface HeldLease {
  leaseId: string
  m: number
  n: number
}

const encoder = new TextEncoder()

/** `varint(total) | u32 header length | header | payload`, with no cap checked: the relay must check. */
export function rawFrame(header: Uint8Array, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = new Uint8Array(4 + header.byteLength + payload.byteLength)
  new DataView(body.buffer).setUint32(0, header.byteLength)
  body.set(header, 4)
  body.set(payload, 4 + header.byteLength)
  return concat(encodeLengthPrefix(body.byteLength), body)
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

const hex64 = (rng: SeededRandom) =>
  Array.from(rng.bytes(32), (b) => b.toString(16).padStart(2, '0')).join('')

/** Valid requests of every type, as a contributor would send them. */
function validRequests(rng: SeededRandom, lease: HeldLease | undefined) {
  const leaseId = lease?.leaseId ?? `lease-${rng.int(1e6)}`
  const m = lease?.m ?? 2
  const n = lease?.n ?? 2
  const output = new Uint8Array(m * n * 4)
  return [
    {
      header: {
        type: 'hello',
        capabilities: {
          adapter: { vendor: 'fuzz', architecture: 'cpu', device: '', description: 'fuzz' },
          features: [],
          limits: { maxBufferSize: 1 << 28 },
          kernels: ['matmul'],
          agent: 'bench/reliability/fuzz',
        },
        benchmark: { gflops: 1 },
      },
    },
    { header: { type: 'lease-request', holds: [hex64(rng), hex64(rng)] } },
    { header: { type: 'lease-renew', leaseId } },
    { header: { type: 'lease-release', leaseId } },
    {
      header: {
        type: 'task-error',
        leaseId,
        code: 'FuzzError',
        message: 'a fuzz case',
      },
    },
    {
      header: {
        type: 'result',
        leaseId,
        outputs: [
          {
            name: 'c',
            dtype: 'float32',
            shape: [m, n],
            byteOffset: 0,
            byteLength: output.byteLength,
          },
        ],
        sha256: hex64(rng),
        elapsedMs: 1,
      },
      payload: output,
    },
  ] as Array<{ header: Record<string, unknown>; payload?: Uint8Array }>
}

/** Varint prefixes far beyond the frame cap, including ones longer than any valid prefix. */
const HUGE_PREFIXES: Uint8Array[] = [
  encodeLengthPrefix(64 * 1024 * 1024 + 1),
  encodeLengthPrefix(2 ** 28),
  encodeLengthPrefix(2 ** 31),
  encodeLengthPrefix(2 ** 35),
  encodeLengthPrefix(2 ** 53),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80),
  Uint8Array.of(0x80),
]

/**
 * One work-protocol case. Kinds: random bytes, mutated valid messages (wrong types, edge
 * numbers, dropped and unknown fields), raw JSON edges (NaN, 1e999), deep nesting,
 * truncations, huge length prefixes, lying header lengths, bad UTF-8, and results whose
 * payload disagrees with their slots, sometimes for a lease the peer really holds.
 */
export function workCase(rng: SeededRandom, lease: HeldLease | undefined): WireCase {
  const requests = validRequests(rng, lease)
  const valid = rng.pick(requests)
  const kind = rng.pick([
    'random-bytes',
    'random-frame',
    'mutated',
    'mutated',
    'mutated',
    'raw-json',
    'deep-nesting',
    'truncated',
    'huge-length',
    'header-length-lie',
    'bad-utf8',
    'payload-lie',
    'payload-lie',
    'declared-not-sent',
    'valid',
  ] as const)
  switch (kind) {
    case 'random-bytes': {
      const bytes = rng.bytes(rng.int(rng.chance(0.1) ? 70_000 : 300))
      return { kind, change: `${bytes.byteLength} random bytes`, bytes }
    }
    case 'random-frame':
      return {
        kind,
        change: 'a framed random header',
        bytes: rawFrame(rng.bytes(rng.int(200)), rng.bytes(rng.int(64))),
      }
    case 'mutated': {
      const { value, change } = mutateJson(valid.header, rng)
      return {
        kind,
        change,
        bytes: rawFrame(encoder.encode(JSON.stringify(value) ?? 'null'), valid.payload),
      }
    }
    case 'raw-json': {
      const edge = rng.pick(RAW_JSON_EDGES)
      const field = rng.pick(['elapsedMs', 'leaseId', 'type', 'outputs', 'holds', 'benchmark'])
      const text = rng.chance(0.3)
        ? edge
        : JSON.stringify({ ...valid.header, [field]: '@@' }).replace('"@@"', edge)
      return {
        kind,
        change: `${field}: ${edge}`,
        bytes: rawFrame(encoder.encode(text), valid.payload),
      }
    }
    case 'deep-nesting': {
      const depth = rng.pick([100, 1_000, 10_000, 30_000])
      const nested = deeplyNested(depth, rng.chance(0.5) ? 'array' : 'object')
      const text = rng.chance(0.5)
        ? nested
        : JSON.stringify({ ...valid.header, capabilities: '@@' }).replace('"@@"', nested)
      return { kind, change: `${depth} levels`, bytes: rawFrame(encoder.encode(text)) }
    }
    case 'truncated': {
      const full = rawFrame(encoder.encode(JSON.stringify(valid.header)), valid.payload)
      const cut = rng.int(full.byteLength)
      return {
        kind,
        change: `${valid.header.type} cut at ${cut} of ${full.byteLength}`,
        bytes: full.subarray(0, cut),
      }
    }
    case 'huge-length': {
      const prefix = rng.pick(HUGE_PREFIXES)
      return {
        kind,
        change: `prefix ${Array.from(prefix, (b) => b.toString(16)).join(' ')}`,
        bytes: concat(prefix, rng.bytes(rng.int(64))),
      }
    }
    case 'header-length-lie': {
      const json = encoder.encode(JSON.stringify(valid.header))
      const lie = rng.pick([json.byteLength + 1, 0xffffffff, 64 * 1024 + 1, 0, json.byteLength - 1])
      const body = new Uint8Array(4 + json.byteLength)
      new DataView(body.buffer).setUint32(0, Math.max(0, lie) >>> 0)
      body.set(json, 4)
      return {
        kind,
        change: `header length ${lie} for ${json.byteLength}`,
        bytes: concat(encodeLengthPrefix(body.byteLength), body),
      }
    }
    case 'bad-utf8': {
      const json = encoder.encode(JSON.stringify(valid.header))
      json[rng.int(json.byteLength)] = rng.pick([0xff, 0xc0, 0xed, 0x80])
      return { kind, change: 'one byte of the header made invalid UTF-8', bytes: rawFrame(json) }
    }
    case 'payload-lie': {
      const result = requests[5]!
      const header = structuredClone(result.header) as {
        outputs: Array<Record<string, unknown>>
        sha256: string
      }
      const lie = rng.pick([
        ['byteLength', (result.payload?.byteLength ?? 0) + 4],
        ['byteLength', 0],
        ['byteOffset', 1],
        ['byteOffset', 2 ** 26],
        ['shape', [2 ** 24, 2 ** 24]],
        ['shape', [0]],
        ['shape', [1, 1, 1, 1, 1, 1, 1, 1]],
        ['sha256', 'f'.repeat(64)],
      ] as const)
      if (lie[0] === 'sha256') header.sha256 = lie[1]
      else header.outputs[0]![lie[0]] = lie[1]
      const payload = rng.chance(0.5)
        ? result.payload!
        : result.payload!.subarray(0, rng.int(result.payload!.byteLength))
      return {
        kind,
        change: `result ${lie[0]} = ${JSON.stringify(lie[1])}, payload ${payload.byteLength} bytes${lease ? ' (held lease)' : ''}`,
        bytes: rawFrame(encoder.encode(JSON.stringify(header)), payload),
      }
    }
    case 'declared-not-sent': {
      // A result that declares a big payload and sends a sliver of it, then ends the stream.
      const result = requests[5]!
      const json = encoder.encode(JSON.stringify(result.header))
      const declared = 4 + json.byteLength + rng.pick([1024, 1 << 20, 32 << 20, 64 << 20])
      const body = new Uint8Array(4 + json.byteLength)
      new DataView(body.buffer).setUint32(0, json.byteLength)
      body.set(json, 4)
      return {
        kind,
        change: `declares ${declared} bytes, sends ${body.byteLength + 16}`,
        bytes: concat(encodeLengthPrefix(declared), body, rng.bytes(16)),
      }
    }
    default:
      return {
        kind,
        change: `a valid ${valid.header.type}`,
        bytes: rawFrame(encoder.encode(JSON.stringify(valid.header)), valid.payload),
      }
  }
}

import { encodeAnnouncement, encodeLengthPrefix } from '@tabswarm/protocol'
import { RAW_JSON_EDGES } from './fuzz-edge-values.ts'
import { mutateJson } from './json-mutation.ts'
import type { SeededRandom } from './seeded-random.ts'
import { concat, rawFrame, type WireCase } from './work-fuzz-cases.ts'

const encoder = new TextEncoder()

/**
 * One blob-protocol case: random bytes, mutated `get` requests, raw JSON edges, truncated
 * and oversized frames, and valid requests for a held and a missing blob.
 */
export function blobCase(rng: SeededRandom, heldHash: string): WireCase {
  const missing = Array.from(rng.bytes(32), (b) => b.toString(16).padStart(2, '0')).join('')
  const valid = { type: 'get', hash: rng.chance(0.5) ? heldHash : missing }
  const kind = rng.pick([
    'random-bytes',
    'mutated',
    'mutated',
    'raw-json',
    'truncated',
    'huge-length',
    'oversized-header',
    'valid',
  ] as const)
  switch (kind) {
    case 'random-bytes': {
      const bytes = rng.bytes(rng.int(300))
      return { kind, change: `${bytes.byteLength} random bytes`, bytes }
    }
    case 'mutated': {
      const { value, change } = mutateJson(valid, rng)
      return { kind, change, bytes: rawFrame(encoder.encode(JSON.stringify(value) ?? 'null')) }
    }
    case 'raw-json': {
      const edge = rng.pick(RAW_JSON_EDGES)
      return {
        kind,
        change: `hash: ${edge}`,
        bytes: rawFrame(encoder.encode(`{"type":"get","hash":${edge}}`)),
      }
    }
    case 'truncated': {
      const full = rawFrame(encoder.encode(JSON.stringify(valid)))
      const cut = rng.int(full.byteLength)
      return {
        kind,
        change: `get cut at ${cut} of ${full.byteLength}`,
        bytes: full.subarray(0, cut),
      }
    }
    case 'huge-length': {
      const prefix = encodeLengthPrefix(rng.pick([4097, 1 << 20, 2 ** 31, 2 ** 40]))
      return {
        kind,
        change: `length prefix over the 4 KiB header cap`,
        bytes: concat(prefix, rng.bytes(rng.int(64))),
      }
    }
    case 'oversized-header': {
      const json = encoder.encode(JSON.stringify({ ...valid, pad: 'x'.repeat(5000) }))
      return { kind, change: `${json.byteLength}-byte header`, bytes: rawFrame(json) }
    }
    default:
      return {
        kind,
        change: valid.hash === heldHash ? 'get a held blob' : 'get a missing blob',
        bytes: rawFrame(encoder.encode(JSON.stringify(valid))),
      }
  }
}

/**
 * One discovery announcement (the `data` of a gossipsub message on the discovery topic):
 * random bytes, valid announcements with junk addresses, truncations, unknown fields, and
 * varints that run past the end. `publicKey` is the announcing peer's own key (protobuf).
 */
export function discoveryCase(rng: SeededRandom, publicKey: Uint8Array): WireCase {
  const kind = rng.pick([
    'random-bytes',
    'junk-addrs',
    'truncated',
    'unknown-field',
    'long-varint',
    'too-many-addrs',
    'foreign-key',
    'valid',
  ] as const)
  const addr = Uint8Array.of(4, 127, 0, 0, 1, 6, 0x1f, 0x90)
  switch (kind) {
    case 'random-bytes': {
      const bytes = rng.bytes(rng.int(rng.chance(0.1) ? 5000 : 200))
      return { kind, change: `${bytes.byteLength} random bytes`, bytes }
    }
    case 'junk-addrs': {
      const addrs = Array.from({ length: 1 + rng.int(4) }, () => rng.bytes(rng.int(300)))
      return {
        kind,
        change: `${addrs.length} junk addresses`,
        bytes: encodeAnnouncement({ publicKey, addrs }),
      }
    }
    case 'truncated': {
      const full = encodeAnnouncement({ publicKey, addrs: [addr] })
      const cut = rng.int(full.byteLength)
      return { kind, change: `cut at ${cut} of ${full.byteLength}`, bytes: full.subarray(0, cut) }
    }
    case 'unknown-field':
      return {
        kind,
        change: 'field 3 added',
        bytes: concat(encodeAnnouncement({ publicKey, addrs: [addr] }), Uint8Array.of(0x1a, 1, 0)),
      }
    case 'long-varint':
      return {
        kind,
        change: 'a length varint of 5+ bytes',
        bytes: Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2),
      }
    case 'too-many-addrs':
      return {
        kind,
        change: '17 addresses',
        bytes: encodeAnnouncement({ publicKey, addrs: Array.from({ length: 17 }, () => addr) }),
      }
    case 'foreign-key':
      return {
        kind,
        change: 'another peer’s key',
        bytes: encodeAnnouncement({
          publicKey: concat(publicKey.subarray(0, 4), rng.bytes(publicKey.byteLength - 4)),
          addrs: [addr],
        }),
      }
    default:
      return {
        kind,
        change: 'a valid announcement',
        bytes: encodeAnnouncement({ publicKey, addrs: [addr] }),
      }
  }
}

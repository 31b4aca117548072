import { z } from 'zod'

/**
 * STUN/TURN servers tabs use for WebRTC between each other, handed to them in the
 * `/v1/swarm` answer. The shape is the browser's `RTCIceServer`.
 */
export const IceServerSchema = z.object({
  urls: z.union([
    z
      .string()
      .regex(
        /^(stun|stuns|turn|turns):/,
        'ICE server urls start with stun:, stuns:, turn: or turns:',
      ),
    z
      .array(
        z
          .string()
          .regex(
            /^(stun|stuns|turn|turns):/,
            'ICE server urls start with stun:, stuns:, turn: or turns:',
          ),
      )
      .min(1)
      .max(8),
  ]),
  username: z.string().max(256).optional(),
  credential: z.string().max(256).optional(),
})
export type IceServer = z.infer<typeof IceServerSchema>

const IceServersSchema = z.array(IceServerSchema).max(16)

/**
 * Parses `TABSWARM_ICE_SERVERS`: either a JSON array of `RTCIceServer` objects (needed
 * for TURN credentials) or a comma-separated list of `stun:`/`turn:` URLs.
 *
 * @example
 * parseIceServers('stun:stun.example.org:3478')
 * parseIceServers('[{"urls":"turn:turn.example.org:3478","username":"u","credential":"p"}]')
 */
export function parseIceServers(raw: string): IceServer[] {
  const trimmed = raw.trim()
  if (trimmed === '') return []
  let value: unknown
  if (trimmed.startsWith('[')) {
    try {
      value = JSON.parse(trimmed)
    } catch {
      throw new Error('TABSWARM_ICE_SERVERS is not valid JSON')
    }
  } else {
    value = trimmed.split(',').map((urls) => ({ urls: urls.trim() }))
  }
  const parsed = IceServersSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(
      `TABSWARM_ICE_SERVERS: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`,
    )
  }
  return parsed.data
}

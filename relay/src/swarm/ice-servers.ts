import { type IceServer, IceServersSchema } from '@tabswarm/protocol'

export type { IceServer } from '@tabswarm/protocol'

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

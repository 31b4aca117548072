import { z } from 'zod'

const iceUrl = z
  .string()
  .max(512)
  .regex(/^(stun|stuns|turn|turns):/, 'ICE server urls start with stun:, stuns:, turn: or turns:')

/**
 * One STUN/TURN server as tabs receive it in the `/v1/swarm` answer: the browser's
 * `RTCIceServer`. The relay checks what its operator configures with it, and tabs check
 * what they are handed with it.
 */
export const IceServerSchema = z.object({
  urls: z.union([iceUrl, z.array(iceUrl).min(1).max(8)]),
  username: z.string().max(256).optional(),
  credential: z.string().max(256).optional(),
})
export type IceServer = z.infer<typeof IceServerSchema>

/** A list of ICE servers, capped. */
export const IceServersSchema = z.array(IceServerSchema).max(16)

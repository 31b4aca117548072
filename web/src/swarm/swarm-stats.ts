/**
 * What a tab knows about its place in the swarm: read by the status panel and by the
 * page's test hook. Times are milliseconds since the page started loading.
 */
export interface SwarmStats {
  peerId: string
  relay: {
    connected: boolean
    /** Times the tab dialled the relay successfully, the first included. */
    connects: number
    /** Dials that failed (the relay down or unreachable). */
    failedDials: number
    /** When the first relay connection opened. */
    firstConnectedAtMs: number | null
  }
  peers: {
    /** Distinct tabs known: heard of on the discovery topic, or linked to directly. */
    discovered: number
    /** Open direct (WebRTC, not relayed) connections to other tabs. */
    direct: number
    /** WebRTC dials to other tabs that failed. */
    failedDials: number
    /** When the first direct connection to another tab opened. */
    firstDirectAtMs: number | null
    /** Why the last failed dial failed, for the operator's eyes. */
    lastDialError: string | null
    /** Direct connections closed after a request failed on them while another was open. */
    brokenLinksClosed: number
    /** Blob requests retried on a fresh dial after their connection closed under them. */
    redialsAfterClose: number
  }
  blobs: {
    fromPeers: number
    fromRelay: number
    /** Fetches the relay served after the peers asked first could not (see the two below). */
    relayFallbacks: number
    /** ...of which at least one peer could not be reached directly (no WebRTC route). */
    fallbacksUnreachable: number
    /** ...of which every peer asked was reached and answered it does not hold the blob. */
    fallbacksNotHeld: number
    failed: number
    /** Bytes from a source that did not hash to what was asked for. */
    hashMismatches: number
    bytesFromPeers: number
    bytesFromRelay: number
    served: number
    bytesServed: number
    cached: number
    bytesCached: number
  }
  /** Malformed or oversized messages other peers sent this tab (each closed its stream). */
  protocolErrors: number
  /**
   * When each step of joining first happened (ms since page load), to see where start-up
   * time goes: relay dial, relay connection, circuit reservation, first announcement sent
   * (and accepted by pubsub), first peer heard, first WebRTC dial started, first direct link.
   */
  timeline: {
    relayDialAtMs: number | null
    relayConnectedAtMs: number | null
    reservedAtMs: number | null
    announcedAtMs: number | null
    announceSentAtMs: number | null
    announceFailedAtMs: number | null
    firstHeardAtMs: number | null
    firstDialAtMs: number | null
    firstDirectAtMs: number | null
    /** The first WebRTC dial's progress events (`webrtc:send-sdp-offer`, ...) as they came. */
    firstDialSteps: Record<string, number>
  }
}

export function createSwarmStats(peerId: string): SwarmStats {
  return {
    peerId,
    relay: { connected: false, connects: 0, failedDials: 0, firstConnectedAtMs: null },
    peers: {
      discovered: 0,
      direct: 0,
      failedDials: 0,
      firstDirectAtMs: null,
      lastDialError: null,
      brokenLinksClosed: 0,
      redialsAfterClose: 0,
    },
    blobs: {
      fromPeers: 0,
      fromRelay: 0,
      relayFallbacks: 0,
      fallbacksUnreachable: 0,
      fallbacksNotHeld: 0,
      failed: 0,
      hashMismatches: 0,
      bytesFromPeers: 0,
      bytesFromRelay: 0,
      served: 0,
      bytesServed: 0,
      cached: 0,
      bytesCached: 0,
    },
    protocolErrors: 0,
    timeline: {
      relayDialAtMs: null,
      relayConnectedAtMs: null,
      reservedAtMs: null,
      announcedAtMs: null,
      announceSentAtMs: null,
      announceFailedAtMs: null,
      firstHeardAtMs: null,
      firstDialAtMs: null,
      firstDirectAtMs: null,
      firstDialSteps: {},
    },
  }
}

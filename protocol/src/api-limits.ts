/**
 * The relay's HTTP API defaults that clients size themselves against: exported here, in the
 * browser-safe protocol, so the SDK reads them instead of keeping copies that could drift.
 */

/** How often the relay writes a heartbeat on an idle event stream (`createApi`'s `heartbeatMs`). */
export const RELAY_HEARTBEAT_MS = 15_000

/** Largest JSON request body (a job spec) the relay accepts by default (`createApi`'s `maxJsonBytes`). */
export const RELAY_MAX_JSON_BYTES = 4 * 1024 ** 2

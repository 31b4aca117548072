/**
 * libp2p protocol ids spoken between tabs, headless workers and the relay.
 * The version is part of the id: a breaking change gets a new id, and both can be served
 * side by side while old tabs drain.
 */
// 2.0.0: a custom lease's WGSL moved from the header into the payload (`program.source`).
// 3.0.0: one lease and one result for every kernel (matmul is a built-in program); inputs
// are named by sha-256 and fetched over the blob protocol, peers first, not sent inline.
export const WORK_PROTOCOL = '/tabswarm/work/3.0.0'

/** Content-addressed blob fetch, served by the relay's store and by every tab's cache. */
export const BLOB_PROTOCOL = '/tabswarm/blob/1.0.0'

/**
 * Gossipsub topic on which tabs announce their peer id and addresses (signed
 * `@libp2p/pubsub-peer-discovery` records); the relay forwards it between tabs.
 */
export const DISCOVERY_TOPIC = 'tabswarm/discovery/1.0.0'

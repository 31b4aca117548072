/**
 * libp2p protocol ids spoken between tabs, headless workers and the relay.
 * The version is part of the id: a breaking change gets a new id, and both can be served
 * side by side while old tabs drain.
 */
export const WORK_PROTOCOL = '/tabswarm/work/1.0.0'

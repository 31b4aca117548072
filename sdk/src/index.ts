export type {
  CallOptions,
  ClientOptions,
  MatmulOptions,
  Matrix,
  TabswarmClient,
} from './client/client.ts'
export { createClient } from './client/client.ts'
export {
  ApiRequestError,
  InvalidInputError,
  JobFailedError,
  RelayUnreachableError,
} from './client/client-errors.ts'
export type { NdArray, NpyDtype } from './npy/npy.ts'
export { encodeNpy, NpyError, parseNpy } from './npy/npy.ts'

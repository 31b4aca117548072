/**
 * The requests `KernelRunner.run` (and the worker's `KernelWorkerApi.run`) take: one
 * discriminated union over `kernel`, plain data only, so a request crosses a worker
 * boundary as is.
 *
 * Float operands are `Float32Array`, or float16 bits in a `Uint16Array` with
 * `dtype: 'float16'`; built-in kernels return the same type as their inputs. Custom
 * kernels return one typed array per declared output.
 */
import type { FloatData } from './common/float-dtype.ts'
import type { CustomKernelRequest } from './custom/custom-kernel-types.ts'
import type {
  ActivationRequest,
  BiasAddRequest,
  ResidualAddRequest,
} from './elementwise/elementwise-request.ts'
import type { MatmulRequest } from './matmul/matmul-request.ts'
import type {
  AttentionRequest,
  DecoderLayersRequest,
  EmbeddingRequest,
  LayerNormRequest,
  ReduceRequest,
  RmsNormRequest,
  RopeRequest,
  SoftmaxRequest,
  SwigluRequest,
} from './transformer/transformer-requests.ts'

/** `MatmulRequest` tagged for `run`. */
export type MatmulRunRequest = { kernel: 'matmul' } & MatmulRequest

/** A custom WGSL kernel tagged for `run`. */
export type CustomRunRequest = { kernel: 'custom' } & CustomKernelRequest

/** Every request `run` accepts, discriminated by `kernel`. */
export type KernelRequest =
  | MatmulRunRequest
  | ActivationRequest
  | BiasAddRequest
  | ResidualAddRequest
  | LayerNormRequest
  | RmsNormRequest
  | SoftmaxRequest
  | ReduceRequest
  | AttentionRequest
  | EmbeddingRequest
  | RopeRequest
  | SwigluRequest
  | DecoderLayersRequest
  | CustomRunRequest

/** The `kernel` names `run` accepts. */
export type KernelName = KernelRequest['kernel']

/**
 * What `run` resolves to for a request: one typed array per output for custom kernels;
 * `decoder-layers`' `Float32Array`s (see `DecoderLayersRequest`); otherwise a `Uint16Array` of float16 bits for `dtype: 'float16'` (for `embedding`,
 * the table's dtype) and a `Float32Array` otherwise.
 */
export type KernelResultOf<R extends KernelRequest> = R extends CustomRunRequest
  ? ArrayBufferView<ArrayBuffer>[]
  : R extends DecoderLayersRequest
    ? Float32Array<ArrayBuffer>[]
    : R extends { dtype: 'float16' }
      ? Uint16Array<ArrayBuffer>
      : Float32Array<ArrayBuffer>

/** Any result of `run`. */
export type KernelResult = FloatData | ArrayBufferView[]

/** Why a decoder lease could not run on this contributor. */
export type DecoderTaskErrorCode =
  /** The contributor has no `DecoderStage` factory (`decoderStages`): it cannot run decoders. */
  | 'DECODER_UNSUPPORTED'
  /** The contributor has no key to sign results with (`sign`): decoder results must be signed. */
  | 'RESULT_SIGNER_MISSING'
  /** The lease's program, inputs and outputs do not fit the decoder contract. */
  | 'DECODER_LEASE_INVALID'

/**
 * A decoder lease this contributor could not run, for a reason the relay should hear as a
 * task error (its `code` goes out as the error's code), not a fault of the contributor.
 */
export class DecoderTaskError extends Error {
  override readonly name = 'DecoderTaskError'
  readonly code: DecoderTaskErrorCode
  constructor(code: DecoderTaskErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

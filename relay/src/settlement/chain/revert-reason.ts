import { BaseError, ContractFunctionRevertedError } from 'viem'

/**
 * The contract's own words for a failed call: the custom error and its arguments
 * (`Underfunded(100, 250)`) when viem decoded one from the ABI, else viem's short message.
 */
export function revertReason(err: unknown): string {
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError)
    if (reverted instanceof ContractFunctionRevertedError && reverted.data != null) {
      const args = (reverted.data.args ?? []).map((a) => String(a)).join(', ')
      return `${reverted.data.errorName}(${args})`
    }
    return err.shortMessage
  }
  return err instanceof Error ? err.message : String(err)
}

import { type SerializedError, TabswarmError } from '@tabswarm/protocol'
import { type TransferHandler, transferHandlers } from 'comlink'
import { deserializeError, isSerializedError } from '../errors.ts'

/** What comlink hands a `'throw'` handler: the thrown value, wrapped. */
type Thrown = { value: unknown }

/** The wire form: the shape of comlink's own, plus `code`. */
type ThrownOnWire = { isError: true; value: SerializedError } | { isError: false; value: unknown }

// comlink marks thrown values with a private symbol, so recognising them is delegated to
// its built-in handler, captured before anyone replaces it.
const builtInThrowHandler = transferHandlers.get('throw')
if (!builtInThrowHandler) throw new Error("comlink has no built-in 'throw' transfer handler.")
const isThrown = builtInThrowHandler.canHandle.bind(builtInThrowHandler)

/**
 * comlink `'throw'` transfer handler that keeps Tabswarm errors recognisable across a
 * worker boundary. comlink's built-in handler sends only `name`, `message` and `stack`;
 * this one sends `TabswarmError.serialize(err)`, `{ name, code, message }`.
 *
 * The wire form stays compatible with the built-in handler: a page that registers
 * nothing still gets an `Error` whose `name` and `code` properties are set; a page that
 * calls `registerErrorTransferHandler()` gets the real subclass (`deserializeError`).
 * comlink picks the handler on each side by name, so the worker must register it too
 * (`exposeKernelWorker` does).
 */
export const errorTransferHandler: TransferHandler<Thrown, ThrownOnWire> = {
  canHandle: (value): value is Thrown => isThrown(value),
  serialize({ value }) {
    if (value instanceof Error)
      return [{ isError: true, value: TabswarmError.serialize(value) }, []]
    return [{ isError: false, value }, []]
  },
  deserialize(wire) {
    if (wire.isError && isSerializedError(wire.value)) throw deserializeError(wire.value)
    throw wire.value
  },
}

/**
 * Install `errorTransferHandler` in this realm's comlink. Call it once on each side of
 * a worker boundary (page and worker) before any call crosses it.
 */
export function registerErrorTransferHandler(): void {
  transferHandlers.set('throw', errorTransferHandler as TransferHandler<unknown, unknown>)
}

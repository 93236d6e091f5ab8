/** The one error type edsim throws on purpose: its message is a fixed, user-facing line. */
export class EdsimError extends Error {
  /** Always "EdsimError". */
  override name = 'EdsimError';
}

/** Throws an EdsimError with `message` unless `ok`. */
export function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new EdsimError(message);
}

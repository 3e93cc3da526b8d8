/**
 * Errors carry a stable code and, where known, the file they are about, so that the CLI entry
 * point alone decides how to print them (one line, no stack) and which exit status to use.
 * Library code never prints or exits.
 */
export class PhotonError extends Error {
  readonly code: string;
  readonly file: string | undefined;

  constructor(code: string, message: string, options: { file?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PhotonError';
    this.code = code;
    this.file = options.file;
  }

  /** The one line a user sees: `FILE: message`. */
  describe(): string {
    return this.file ? `${this.file}: ${this.message}` : this.message;
  }
}

export function isPhotonError(e: unknown): e is PhotonError {
  return e instanceof PhotonError;
}

/** Re-throws `e` as a PhotonError naming `file`, keeping an existing code. */
export function withFile(e: unknown, file: string): PhotonError {
  if (e instanceof PhotonError) {
    return e.file ? e : new PhotonError(e.code, e.message, { file, cause: e.cause });
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string') {
    return new PhotonError(`E_${err.code}`, err.message.replace(/^[A-Z]+: /, ''), { file, cause: e });
  }
  return new PhotonError('E_INTERNAL', String((e as Error)?.message ?? e), { file, cause: e });
}

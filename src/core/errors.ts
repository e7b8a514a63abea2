/** Exit codes shared with Docker and Podman. */
export const EXIT_ENGINE = 125;
export const EXIT_CANNOT_INVOKE = 126;
export const EXIT_NOT_FOUND = 127;

/**
 * An error the user caused or can fix. The CLI prints `message` as one line (plus `hint`, if any,
 * on the same line) and exits with `exitCode`; anything else is a bug and gets a stack trace.
 */
export class TspodError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT_ENGINE,
  ) {
    super(message);
    this.name = 'TspodError';
  }

  /** The single line shown to the user. */
  get line(): string {
    return this.hint ? `${this.message}: ${this.hint}` : this.message;
  }
}

/** Several independent failures (e.g. `rmi a b c`), reported together, one line each. */
export class MultiError extends TspodError {
  constructor(readonly errors: TspodError[], exitCode: number = EXIT_ENGINE) {
    super(errors.map((e) => e.line).join('\n'), undefined, exitCode);
  }

  override get line(): string {
    return this.message;
  }
}

export function isTspodError(e: unknown): e is TspodError {
  return e instanceof TspodError;
}

/**
 * Runs `fn` for each input, Podman-style: every input is tried, and the user errors are
 * reported together afterwards, one line each (exit code: the highest of them).
 */
export async function forEachInput(inputs: string[], fn: (input: string) => Promise<void>): Promise<void> {
  const errors: TspodError[] = [];
  for (const input of inputs) {
    const error = await failureOf(() => fn(input));
    if (error) errors.push(error);
  }
  throwCollected(errors);
}

/** The user error `fn` fails with, if any; anything else is a bug and propagates. */
export async function failureOf(fn: () => Promise<unknown>): Promise<TspodError | undefined> {
  try {
    await fn();
    return undefined;
  } catch (e) {
    if (!isTspodError(e)) throw e;
    return e;
  }
}

/** Throws the user errors of several inputs together, as forEachInput does; nothing if none. */
export function throwCollected(errors: TspodError[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new MultiError(errors, Math.max(...errors.map((e) => e.exitCode)));
}

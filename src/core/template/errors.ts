/**
 * A template error before it is turned into a TspodError: `detail` is Go's wording (e.g.
 * `unclosed action`, `function "foo" not defined`), `pos` the offset it refers to.
 */
export class TemplateError extends Error {
  constructor(
    readonly detail: string,
    readonly source: string,
    readonly pos: number,
  ) {
    super(detail);
    this.name = 'TemplateError';
  }

  /** 1-based line of `pos` in the template. */
  get line(): number {
    return this.source.slice(0, this.pos).split('\n').length;
  }
}

/** Raised while executing; `context` names the action that failed, like Go's `at <.Foo>`. */
export class ExecError extends TemplateError {
  constructor(detail: string, source: string, pos: number, readonly context: string) {
    super(detail, source, pos);
    this.name = 'ExecError';
  }
}

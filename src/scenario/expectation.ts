/**
 * An expectation about the system under test that was not met. Thrown by the API
 * (`await call.expect(200)`) and by expect steps; the runner turns it into a `<failure>`.
 * Anything else thrown while running is the harness's own `<error>`.
 */
export class ExpectationFailed extends Error {
  readonly expected: string;
  readonly received: string;
  /** The header that differed, when a header assertion failed. */
  readonly header: string | undefined;

  constructor(message: string, detail: { expected: string; received: string; header?: string }) {
    super(message);
    this.name = 'ExpectationFailed';
    this.expected = detail.expected;
    this.received = detail.received;
    this.header = detail.header;
  }
}

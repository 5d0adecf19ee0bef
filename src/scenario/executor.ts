/**
 * Runs steps in order, one executor per step kind. A failed expectation becomes a
 * {@link StepFailed} naming the step and its position; an abort (Ctrl-C) stops before the next
 * step and cuts the current wait short.
 */
import { ExpectationFailed } from './expectation.js';
import type { SourcePos, Step } from './model.js';
import type { RunContext } from './run-context.js';
import { pause, parallel, repeat, setVars } from './steps/flow-steps.js';
import {
  answerAuth,
  cancel,
  expectRequest,
  expectResponse,
  hangup,
  sendRaw,
  sendRequest,
  sendResponse,
} from './steps/message-steps.js';
import { refresh, register, unregister } from './steps/registration-steps.js';
import { channelLimit } from './steps/channel-limit-step.js';
import type { Variables } from './variables.js';

/** An expectation failed at a known step. */
export class StepFailed extends Error {
  constructor(
    readonly failure: ExpectationFailed,
    readonly step: string,
    readonly pos: SourcePos,
  ) {
    super(failure.message);
    this.name = 'StepFailed';
  }
}

/** The run was interrupted before or during this step. */
export class Interrupted extends Error {
  constructor(readonly step: string) {
    super(`interrupted at ${step}`);
    this.name = 'Interrupted';
  }
}

/** The step as the user wrote it, short: `expect: 200`, `send: INVITE`, `register`. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'send-request':
      return `send: ${step.method}`;
    case 'send-response':
      return `send: ${step.status}`;
    case 'send-raw':
      return 'send: raw';
    case 'expect-response':
      return `expect: ${step.status.join(', ')}`;
    case 'expect-request':
      return `expect: ${step.method}`;
    case 'pause':
      return `pause: ${step.ms} ms`;
    default:
      return step.kind;
  }
}

/** Run steps in order in `vars`' scope. */
export async function runSteps(steps: Step[], vars: Variables, ctx: RunContext): Promise<void> {
  for (const step of steps) {
    if (ctx.signal.aborted) throw new Interrupted(describeStep(step));
    try {
      await untilAborted(runStep(step, vars, ctx), ctx.signal, step);
    } catch (err) {
      if (err instanceof ExpectationFailed) throw new StepFailed(err, describeStep(step), step.pos);
      throw err;
    }
  }
}

function runStep(step: Step, vars: Variables, ctx: RunContext): Promise<void> {
  switch (step.kind) {
    case 'send-request':
      return sendRequest(step, vars, ctx);
    case 'send-response':
      return sendResponse(step, vars, ctx);
    case 'send-raw':
      return sendRaw(step, vars, ctx);
    case 'expect-response':
      return expectResponse(step, vars, ctx);
    case 'expect-request':
      return expectRequest(step, vars, ctx);
    case 'auth':
      return answerAuth(step, vars, ctx);
    case 'pause':
      return pause(step, vars, ctx);
    case 'cancel':
      return cancel(step, vars, ctx);
    case 'hangup':
      return hangup(step, vars, ctx);
    case 'register':
      return register(step, vars, ctx);
    case 'unregister':
      return unregister(step, vars, ctx);
    case 'refresh':
      return refresh(step, vars, ctx);
    case 'parallel':
      return parallel(step, vars, ctx, runSteps);
    case 'repeat':
      return repeat(step, vars, ctx, runSteps);
    case 'set':
      return setVars(step, vars, ctx);
    case 'channel-limit':
      return channelLimit(step, vars, ctx);
  }
}

/** The step's promise, or an Interrupted rejection as soon as the signal fires. */
function untilAborted(p: Promise<void>, signal: AbortSignal, step: Step): Promise<void> {
  if (signal.aborted) return Promise.reject(new Interrupted(describeStep(step)));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Interrupted(describeStep(step)));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

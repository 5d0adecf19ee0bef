/** Steps that shape the flow: pause, parallel, repeat, set. */
import type { ParallelStep, PauseStep, RepeatStep, SetStep, Step } from '../model.js';
import { sleep, type RunContext } from '../run-context.js';
import { interpolate, type Variables } from '../variables.js';

/** Runs a list of steps (the executor; passed in to avoid an import cycle). */
export type StepsRunner = (steps: Step[], vars: Variables, ctx: RunContext) => Promise<void>;

export async function pause(step: PauseStep, _vars: Variables, ctx: RunContext): Promise<void> {
  await sleep(step.ms, ctx.signal);
}

/** Branches run at once, each in its own variable scope with `${branch}` = 1…n; all must pass. */
export async function parallel(step: ParallelStep, vars: Variables, ctx: RunContext, run: StepsRunner): Promise<void> {
  const scopes = step.branches.map((_, i) => vars.child().set('branch', String(i + 1)));
  const results = await Promise.allSettled(step.branches.map((branch, i) => run(branch, scopes[i], ctx)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  // Captures made in the branches are visible after the parallel step (last branch wins).
  for (const scope of scopes) {
    scope.delete?.('branch');
    scope.commit();
  }
}

export async function repeat(step: RepeatStep, vars: Variables, ctx: RunContext, run: StepsRunner): Promise<void> {
  for (let i = 1; i <= step.count && !ctx.signal.aborted; i++) {
    const scope = vars.child().set('iteration', String(i));
    await run(step.steps, scope, ctx);
    scope.commit();
  }
}

export async function setVars(step: SetStep, vars: Variables, _ctx: RunContext): Promise<void> {
  for (const [name, template] of Object.entries(step.vars)) {
    vars.set(name, interpolate(template, vars, { pos: step.pos, field: `set.${name}` }));
  }
}

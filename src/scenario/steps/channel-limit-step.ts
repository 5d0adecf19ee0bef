/**
 * channel-limit: `limit` concurrent calls must connect and stay up; call `limit + 1` must be
 * refused. Sequential mode places them one after another; burst mode sends all `limit + 1`
 * INVITEs in the same millisecond, which catches a set-then-count dialplan that lets one call
 * too many through or refuses one too many (seed 000 §2.2, GROUP_COUNT). All calls are ended.
 */
import { inviteWithAuth } from '../../auth/authenticating-client.js';
import type { SipMessage } from '../../sip/message.js';
import { createOffer, serializeSdp } from '../../sip/sdp.js';
import type { Call } from '../call.js';
import { ExpectationFailed } from '../expectation.js';
import { describeMessage, describeStatusMatcher, matchStatus } from '../matcher.js';
import type { ChannelLimitStep } from '../model.js';
import { callName, partyOf, resolveCredentials, sleep, type RunContext } from '../run-context.js';
import { interpolate, type Variables } from '../variables.js';

export async function channelLimit(step: ChannelLimitStep, vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  const where = { pos: step.pos, field: 'channel-limit' };
  const uri = interpolate(step.uri, vars, { ...where, field: 'channel-limit.uri' });
  const from = step.from === undefined ? undefined : interpolate(step.from, vars, { ...where, field: 'channel-limit.from' });
  const headers = step.headers.map(([n, v]): [string, string] => [n, interpolate(v, vars, { ...where, field: `channel-limit.headers.${n}` })]);
  const spec = ctx.scenario.parties.find((p) => p.name === party.name);
  const creds = resolveCredentials(ctx, spec?.credentials, vars, step.pos);
  const timeout = step.timeoutMs ?? ctx.timeoutMs;
  const base = callName(step, vars);
  const calls: Call[] = [];

  const place = (i: number): Call => {
    const body = serializeSdp(createOffer({ address: party.local.host, port: 46000 + 2 * i }));
    const call = party.invite(uri, { from, headers, body, contentType: 'application/sdp', dest: ctx.target ?? party.target }, `${base}.limit${i}`);
    calls.push(call);
    return call;
  };
  const finalOf = async (call: Call): Promise<SipMessage | undefined> => {
    if (!call.uac) return undefined;
    if (creds) return (await inviteWithAuth(call.uac, creds, timeout)).final;
    return call.uac.waitFinal(timeout);
  };
  const said = (m: SipMessage | undefined): string => (m ? describeMessage(m) : `nothing within ${timeout / 1000} s`);
  const refuse = describeStatusMatcher(step.refuse);

  try {
    if (step.mode === 'sequential') {
      for (let i = 1; i <= step.limit; i++) {
        const f = await finalOf(place(i));
        if (!f || f.status < 200 || f.status >= 300) {
          throw new ExpectationFailed(`call ${i} of ${step.limit} (within the limit) was not connected: expected 200, received ${said(f)}`, {
            expected: '200',
            received: said(f),
          });
        }
      }
      const extra = await finalOf(place(step.limit + 1));
      if (!extra || !matchStatus(extra.status, step.refuse)) {
        const what = extra && extra.status >= 200 && extra.status < 300 ? `connected although ${step.limit} calls were up` : `received ${said(extra)}`;
        throw new ExpectationFailed(`call ${step.limit + 1} (over the limit of ${step.limit}) ${what}: expected ${refuse}`, {
          expected: refuse,
          received: said(extra),
        });
      }
    } else {
      // Every INVITE leaves in this one synchronous loop: the same millisecond on the wire.
      const placed = Array.from({ length: step.limit + 1 }, (_, i) => place(i + 1));
      const finals = await Promise.all(placed.map(finalOf));
      const connected = finals.filter((f) => f && f.status >= 200 && f.status < 300).length;
      const refused = finals.filter((f) => f && matchStatus(f.status, step.refuse)).length;
      if (connected !== step.limit || refused !== 1) {
        const codes = finals.map((f) => (f ? String(f.status) : 'none')).join(', ');
        throw new ExpectationFailed(
          `${connected} of ${step.limit + 1} simultaneous calls connected and ${refused} refused with ${refuse}: expected exactly ${step.limit} connected and 1 refused (codes: ${codes})`,
          { expected: `${step.limit} × 200, 1 × ${refuse}`, received: codes },
        );
      }
    }
    await sleep(step.holdMs, ctx.signal);
  } finally {
    await Promise.allSettled(calls.map((c) => c.end()));
  }
}

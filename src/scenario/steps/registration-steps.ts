/**
 * register / unregister / refresh (RFC 3261 §10.2): REGISTER with digest auth, the granted
 * expiry read from the Contact's expires parameter or the Expires header (§10.2.4), refreshes
 * reusing the Call-ID with CSeq + 1, and Expires: 0 to remove the binding (§10.2.2).
 */
import { requestWithAuth, type AuthOutcome } from '../../auth/authenticating-client.js';
import { SipwrightError } from '../../errors.js';
import { newCallId } from '../../sip/ids.js';
import type { SipMessage } from '../../sip/message.js';
import { uriHost } from '../../transport/transport.js';
import { ExpectationFailed } from '../expectation.js';
import { describeStatusMatcher, matchStatus } from '../matcher.js';
import type { RefreshStep, RegisterStep, StatusMatcher, UnregisterStep } from '../model.js';
import type { Party } from '../party.js';
import { partyOf, resolveCredentials, sleep, where, type Registration, type RunContext } from '../run-context.js';
import { interpolate, type Variables } from '../variables.js';

/** Seconds granted: our Contact's expires param, else the Expires header, else what we asked. */
export function grantedExpiry(res: SipMessage, party: Party, asked: number): number {
  const ours = `${uriHost(party.local.host)}:${party.local.port}`;
  for (const c of res.contacts) {
    const e = c.params.get('expires');
    if (e && `${c.uri.host}:${c.uri.port ?? 5060}` === ours) return Number(e);
  }
  const first = res.contacts.find((c) => c.params.get('expires'));
  if (first) return Number(first.params.get('expires'));
  const header = res.get('expires');
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : asked;
}

async function registerOnce(reg: Registration, party: Party, expires: number): Promise<AuthOutcome> {
  reg.cseq++;
  const outcome = await requestWithAuth(
    party.ua,
    'REGISTER',
    reg.uri,
    {
      from: `<${reg.aor}>`,
      to: `<${reg.aor}>`,
      callId: reg.callId,
      cseq: reg.cseq,
      dest: reg.dest,
      headers: [['Expires', String(expires)], ...reg.headers],
    },
    reg.credentials ?? { username: '', password: '' },
  );
  // The retry used CSeq + n; continue after it (RFC 3261 §10.2.4: same Call-ID, higher CSeq).
  reg.cseq += outcome.attempts - 1;
  return outcome;
}

/**
 * The REGISTER's outcome, or a failure naming `expect` when none came within `timeoutMs` (the
 * step's `timeout:`; without one the transaction's Timer F decides). A late answer still
 * advances the registration's CSeq.
 */
async function withinTimeout(pending: Promise<AuthOutcome>, timeoutMs: number | undefined, expect: StatusMatcher, what: string): Promise<AuthOutcome> {
  if (timeoutMs === undefined) return pending;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const want = describeStatusMatcher(expect);
      const got = `nothing within ${timeoutMs / 1000} s`;
      reject(new ExpectationFailed(`${what}: expected ${want}, received ${got}`, { expected: want, received: got }));
    }, timeoutMs);
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

function check(outcome: AuthOutcome, expect: StatusMatcher, what: string): void {
  if (matchStatus(outcome.status, expect)) return;
  const want = describeStatusMatcher(expect);
  const got = outcome.final ? `${outcome.final.status} ${outcome.final.reason}` : outcome.failureMessage;
  const challenged = outcome.challenges.length ? ` after answering ${outcome.challenges.map((c) => c.status).join(', ')}` : '';
  throw new ExpectationFailed(`${what}: expected ${want}, received ${got}${challenged}`, { expected: want, received: got });
}

export async function register(step: RegisterStep, vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  // The party's own `target:` wins; the runner already gave it --target when it names none.
  const target = party.target ?? ctx.target;
  const spec = step.credentials ?? ctx.scenario.parties.find((p) => p.name === party.name)?.credentials;
  const credentials = resolveCredentials(ctx, spec, vars, step.pos);
  const uri = step.uri
    ? interpolate(step.uri, vars, { pos: step.pos, field: 'uri' })
    : target
      ? `sip:${uriHost(target.host)}:${target.port}`
      : undefined;
  if (!uri) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: register: no uri and no --target`);
  const host = uri.replace(/^sips?:/, '').replace(/^[^@]*@/, '').replace(/;.*$/, '');
  const aor = step.aor ? interpolate(step.aor, vars, { pos: step.pos, field: 'aor' }) : `sip:${credentials?.username ?? party.ua.user}@${host}`;
  const key = step.call ?? party.name;
  const reg: Registration = ctx.registrations.get(key) ?? {
    uri,
    aor,
    callId: newCallId(party.local.host),
    cseq: 0,
    expires: step.expires,
    granted: 0,
    credentials,
    dest: target,
    headers: step.headers.map(([n, v]) => [n, interpolate(v, vars, { pos: step.pos, field: `headers.${n}` })]),
    refreshes: 0,
  };
  reg.expires = step.expires;
  ctx.registrations.set(key, reg);
  const outcome = await withinTimeout(registerOnce(reg, party, step.expires), step.timeoutMs, step.expect, 'REGISTER');
  check(outcome, step.expect, 'REGISTER');
  if (outcome.final && outcome.final.status < 300) {
    reg.granted = grantedExpiry(outcome.final, party, step.expires);
    vars.set('expires', String(reg.granted));
  }
}

export async function unregister(step: UnregisterStep, vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  const reg = ctx.registrations.get(step.call ?? party.name);
  if (!reg) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: unregister: no register step ran for this party`);
  if (step.credentials) reg.credentials = resolveCredentials(ctx, step.credentials, vars, step.pos);
  reg.stopped = true;
  const outcome = await withinTimeout(registerOnce(reg, party, 0), step.timeoutMs, step.expect, 'REGISTER Expires: 0');
  check(outcome, step.expect, 'REGISTER Expires: 0');
}

/** Start the background refresh loop; failures are recorded and fail the test at its end. */
export async function refresh(step: RefreshStep, _vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  const reg = ctx.registrations.get(step.call ?? party.name);
  if (!reg) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: refresh: no register step ran for this party`);
  const loop = async (): Promise<void> => {
    while (!ctx.signal.aborted && !reg.stopped) {
      const waitS = step.everyS ?? Math.max(1, reg.granted - (step.marginS ?? 15));
      if (!(await sleep(waitS * 1000, ctx.signal)) || reg.stopped) return;
      const outcome = await registerOnce(reg, party, reg.expires);
      if (outcome.final && outcome.final.status < 300) {
        reg.granted = grantedExpiry(outcome.final, party, reg.expires);
        reg.refreshes++;
      } else {
        ctx.backgroundFailures.push({
          message: `refresh REGISTER failed: ${outcome.final ? `${outcome.final.status} ${outcome.final.reason}` : outcome.failureMessage}`,
          pos: step.pos,
          step: 'refresh',
        });
        return;
      }
    }
  };
  ctx.background.push(loop());
}

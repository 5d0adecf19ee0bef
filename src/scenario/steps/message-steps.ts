/**
 * Steps that send or expect one message: send (request, response, raw), expect (response,
 * request), auth, cancel, hangup.
 */
import { Inbox } from '../../dialog/inbox.js';
import { SipwrightError } from '../../errors.js';
import { createAnswer, createOffer, parseSdp, serializeSdp } from '../../sip/sdp.js';
import type { SipMessage } from '../../sip/message.js';
import { parseHostPort } from '../../transport/address.js';
import { uriHost } from '../../transport/transport.js';
import { Call } from '../call.js';
import { ExpectationFailed } from '../expectation.js';
import type {
  AuthStep,
  BodySpec,
  CancelStep,
  ExpectRequestStep,
  ExpectResponseStep,
  HangupStep,
  HeaderAssertion,
  SendRawStep,
  SendRequestStep,
  SendResponseStep,
} from '../model.js';
import type { Party } from '../party.js';
import { callName, callOf, partyOf, resolveCredentials, where, type RunContext } from '../run-context.js';
import { interpolate, type Variables } from '../variables.js';

/** Methods that always start something new rather than going into the call's dialog. */
const OUT_OF_DIALOG = new Set(['REGISTER', 'OPTIONS', 'MESSAGE', 'SUBSCRIBE', 'PUBLISH']);

type Headers = Array<[string, string]>;

function resolveHeaders(headers: Headers, vars: Variables, step: { pos: SendRequestStep['pos'] }): Headers {
  return headers.map(([n, v]) => [n, interpolate(v, vars, { pos: step.pos, field: `headers.${n}` })]);
}

/** Text body, or an SDP offer/answer for this party. */
function resolveBody(
  body: BodySpec | undefined,
  party: Party,
  ctx: RunContext,
  vars: Variables,
  step: { pos: SendRequestStep['pos'] },
  offer: SipMessage | undefined,
): { body?: string; contentType?: string } {
  if (!body) return {};
  if (body.kind === 'text') {
    return { body: toCrlf(interpolate(body.text, vars, { pos: step.pos, field: 'body' })), contentType: body.contentType };
  }
  const port = ctx.nextMediaPort;
  ctx.nextMediaPort = ctx.nextMediaPort >= 59998 ? 40000 : ctx.nextMediaPort + 2;
  const address = party.local.host;
  if (body.kind === 'sdp-offer') return { body: serializeSdp(createOffer({ address, port })), contentType: 'application/sdp' };
  if (!offer || offer.body.length === 0) {
    throw new ExpectationFailed('cannot answer: the peer sent no SDP offer', { expected: 'an SDP offer', received: 'no body' });
  }
  return { body: serializeSdp(createAnswer(parseSdp(offer.body), { address, port })), contentType: 'application/sdp' };
}

/** LF-only text (from YAML) gets CRLF line ends, as SIP and SDP need. */
export function toCrlf(text: string): string {
  return text.includes('\r\n') ? text : text.replace(/\n/g, '\r\n');
}

export async function sendRequest(step: SendRequestStep, vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  const name = callName(step, vars);
  const existing = party.call(name);
  const headers = resolveHeaders(step.headers, vars, step);
  const inDialog = existing !== undefined && !OUT_OF_DIALOG.has(step.method) && (existing.uac?.dialog ?? existing.uas?.dialog) !== undefined;
  // A request about the call's INVITE other than a new INVITE (BYE, INFO, ACK …) needs its
  // dialog: after a rejected or unanswered INVITE, Call.send fails saying there is none.
  const ofCall = existing !== undefined && (existing.uac ?? existing.uas) !== undefined && step.method !== 'INVITE' && !OUT_OF_DIALOG.has(step.method);
  if (inDialog || ofCall) {
    const { body, contentType } = resolveBody(step.body, party, ctx, vars, step, existing.lastRequest);
    existing.send(step.method, { headers, body, contentType });
    return;
  }
  // The party's own `target:` wins; the runner already gave it --target when it names none.
  const target = party.target ?? ctx.target;
  const uri = step.uri
    ? interpolate(step.uri, vars, { pos: step.pos, field: 'uri' })
    : target
      ? `sip:${step.method === 'INVITE' ? 'service@' : ''}${uriHost(target.host)}:${target.port}`
      : undefined;
  if (!uri) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: send ${step.method}: no uri and no --target to send to`);
  const from = step.from === undefined ? undefined : interpolate(step.from, vars, { pos: step.pos, field: 'from' });
  const to = step.to === undefined ? undefined : interpolate(step.to, vars, { pos: step.pos, field: 'to' });
  const { body, contentType } = resolveBody(step.body, party, ctx, vars, step, undefined);
  const spec = ctx.scenario.parties.find((p) => p.name === party.name);
  const creds = step.auth ? resolveCredentials(ctx, spec?.credentials, vars, step.pos) : undefined;
  if (step.auth && !creds) {
    throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: auth: true but party "${party.name}" has no credentials`);
  }
  let call: Call;
  if (step.method === 'INVITE') {
    call = party.invite(uri, { from, to, headers, body, contentType, dest: target }, name);
  } else {
    const req = party.ua.buildRequest(step.method, uri, { from, to, headers, body, contentType, dest: target });
    call = new Call(name, party, { inbox: new Inbox(party.ua.layer.queue) });
    party.calls.set(name, call);
    call.sendRequest(req, party.ua.hopFor(uri, target));
  }
  call.autoAuth = creds;
  vars.set('call_id', call.callId);
}

export async function sendResponse(step: SendResponseStep, vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  const call = callOf(ctx, step, vars);
  if (!call) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: send ${step.status}: no request received on call "${callName(step, vars)}" yet`);
  const headers = resolveHeaders(step.headers, vars, step);
  let request: SipMessage | undefined;
  if (step.to !== undefined) {
    request = step.to === 'INVITE' && call.uas ? call.uas.invite : [...call.received].reverse().find((m) => m.isRequest && m.method === step.to);
    if (!request && call.lastRequest?.method === step.to) request = call.lastRequest;
    if (!request) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: send ${step.status}: no ${step.to} received on call "${callName(step, vars)}" to answer`);
  }
  const offer = request ?? call.uas?.invite ?? call.lastRequest;
  const { body, contentType } = resolveBody(step.body, party, ctx, vars, step, offer);
  call.respond(step.status, { reason: step.reason, headers, body, contentType }, request);
}

export async function sendRaw(step: SendRawStep, vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  let text = toCrlf(interpolate(step.raw, vars, { pos: step.pos, field: 'raw' }));
  // A YAML `|` block keeps one final newline, so the empty line that ends the headers is lost;
  // a message with no empty line at all gets it back (write the body after an empty line).
  if (!text.includes('\r\n\r\n')) text = text.endsWith('\r\n') ? `${text}\r\n` : `${text}\r\n\r\n`;
  const existing = callOf(ctx, step, vars);
  const peer = existing?.uac?.dialog?.hop.dest ?? existing?.uas?.tx.hop.dest;
  const dest = step.dest ? parseHostPort(interpolate(step.dest, vars, { pos: step.pos, field: 'dest' }), 'dest') : (peer ?? party.target ?? ctx.target);
  if (!dest) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: send raw: no dest and no --target`);
  const name = callName(step, vars);
  if (!existing) {
    const call = new Call(name, party, { inbox: new Inbox(party.ua.layer.queue) });
    party.calls.set(name, call);
    const m = /^(?:i|call-id)[ \t]*:[ \t]*(.+?)\r?$/im.exec(text);
    if (m) party.routeStray(m[1].trim(), call);
  }
  party.ua.layer.send(Buffer.from(text, 'utf8'), { transport: party.ua.transport, dest });
}

/** Header assertions with the `${name}` references in their values resolved (the rest as written). */
function resolveAssertions(assertions: HeaderAssertion[], vars: Variables): HeaderAssertion[] {
  if (!assertions.some((a) => a.value?.includes('$'))) return assertions;
  return assertions.map((a) =>
    a.value === undefined || !a.value.includes('$') ? a : { ...a, value: interpolate(a.value, vars, { pos: a.pos, field: `headers.${a.name}` }) },
  );
}

export async function expectResponse(step: ExpectResponseStep, vars: Variables, ctx: RunContext): Promise<void> {
  const call = callOf(ctx, step, vars);
  if (!call) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: expect ${step.status.join(' or ')}: nothing was sent on call "${callName(step, vars)}"`);
  await call.expect(step.status, {
    timeoutMs: step.timeoutMs ?? ctx.timeoutMs,
    optional: step.optional,
    headers: resolveAssertions(step.headers, vars),
    sdp: step.sdp,
    capture: step.capture,
    vars,
  });
}

export async function expectRequest(step: ExpectRequestStep, vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  const name = callName(step, vars);
  const existing = party.call(name);
  const timeoutMs = step.timeoutMs ?? ctx.timeoutMs;
  const opts = { timeoutMs, optional: step.optional, headers: resolveAssertions(step.headers, vars), sdp: step.sdp, capture: step.capture, vars };
  // A request about an INVITE the call sent or received (ACK, BYE, INFO, and a CANCEL, which
  // can come before any dialog exists) lands in the call's inbox, not in the party's queue.
  const ofCall = existing !== undefined && (existing.uac ?? existing.uas) !== undefined && step.method !== 'INVITE' && !OUT_OF_DIALOG.has(step.method);
  if (existing && ofCall) {
    await existing.expectRequest(step.method, opts);
    return;
  }
  if (party.persona && step.method === 'REGISTER') {
    // A persona answers REGISTERs itself; the step observes the ones it accepted.
    const seen = await party.nextObserved('REGISTER', timeoutMs);
    if (!seen) {
      if (step.optional) return;
      throw new ExpectationFailed(`expected REGISTER, received none accepted within ${timeoutMs / 1000} s`, { expected: 'REGISTER', received: 'nothing' });
    }
    new Call(name, party, { inbox: new Inbox(party.ua.layer.queue), request: seen }).check(seen, opts);
    return;
  }
  const got = await party.nextIncoming(step.method, timeoutMs, name);
  if (!got) {
    if (step.optional) return;
    const others = party.unclaimed().map((m) => m.method);
    const meanwhile = others.length ? ` (unclaimed meanwhile: ${[...new Set(others)].join(', ')})` : '';
    throw new ExpectationFailed(`expected ${step.method}, received nothing within ${timeoutMs / 1000} s${meanwhile}`, { expected: step.method, received: 'nothing' });
  }
  const call = got.call ?? new Call(name, party, { inbox: new Inbox(party.ua.layer.queue), request: got.msg });
  party.calls.set(name, call);
  call.check(got.msg, opts);
  vars.set('call_id', got.msg.callId);
}

export async function answerAuth(step: AuthStep, vars: Variables, ctx: RunContext): Promise<void> {
  const party = partyOf(ctx, step);
  const call = callOf(ctx, step, vars);
  const spec = step.credentials ?? ctx.scenario.parties.find((p) => p.name === party.name)?.credentials;
  const creds = resolveCredentials(ctx, spec, vars, step.pos);
  if (!creds) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: auth: party "${party.name}" has no credentials`);
  const challenge = call ? [...call.received].reverse().find((m) => m.status === 401 || m.status === 407) : undefined;
  if (!call || !challenge) {
    throw new ExpectationFailed('auth: no 401 or 407 to answer on this call', { expected: '401 or 407', received: 'none' });
  }
  if (!call.retryWithAuth(challenge, creds)) {
    throw new ExpectationFailed(`auth: the ${challenge.status} carries no usable Digest challenge`, { expected: 'a Digest challenge', received: challenge.get(challenge.status === 407 ? 'proxy-authenticate' : 'www-authenticate') ?? 'none' });
  }
}

export async function cancel(step: CancelStep, vars: Variables, ctx: RunContext): Promise<void> {
  const call = callOf(ctx, step, vars);
  if (!call?.uac) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: cancel: no outgoing INVITE on call "${callName(step, vars)}"`);
  call.cancel();
}

export async function hangup(step: HangupStep, vars: Variables, ctx: RunContext): Promise<void> {
  const call = callOf(ctx, step, vars);
  if (!call) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: hangup: no call "${callName(step, vars)}"`);
  await call.hangup(step.timeoutMs ?? ctx.timeoutMs);
}

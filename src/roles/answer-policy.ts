/**
 * How a persona answers an incoming INVITE on its own: answer after ringing, busy (486, seed
 * 000 §3.3), unavailable (503), no answer (ring until CANCEL or the caller's timeout), forward (302 with the
 * target in Contact, RFC 3261 §21.3.3), or leave it to scenario steps.
 */
import type { UasCall } from '../dialog/uas-call.js';
import type { SipMessage } from '../sip/message.js';
import { createAnswer, createOffer, parseSdp, serializeSdp } from '../sip/sdp.js';

export type AnswerMode = 'steps' | 'answer' | 'busy' | 'no-answer' | 'forward' | 'unavailable';

export interface AnswerPolicy {
  mode: AnswerMode;
  /** Ring this long before the 200 (answer mode), ms. Default 100. */
  ringMs?: number;
  /** 302 target URI (forward mode). */
  forwardTo?: string;
  /** 183 Session Progress with SDP before the 200. */
  earlyMedia?: boolean;
  /** Extra headers on every response. */
  headers?: Array<[string, string]>;
  /** Status for busy / unavailable (default 486 / 503). */
  code?: number;
  /** Hang up answered calls after this long, ms (default: wait for the caller's BYE). */
  holdMs?: number;
}

/** Apply `policy` to a ringing call. Returns false for `steps` (left to the scenario). */
export function answerWith(call: UasCall, policy: AnswerPolicy, mediaAddress: string): boolean {
  const headers = policy.headers ?? [];
  switch (policy.mode) {
    case 'steps':
      return false;
    case 'busy':
      call.respond(policy.code ?? 486, { headers });
      return true;
    case 'unavailable':
      call.respond(policy.code ?? 503, { headers });
      return true;
    case 'forward':
      call.respond(302, { headers: [['Contact', `<${policy.forwardTo ?? 'sip:invalid'}>`], ...headers] });
      return true;
    case 'no-answer':
      call.respond(180, { headers });
      return true;
    case 'answer': {
      call.respond(180, { headers });
      // RFC 3261 §13.3.1.4: the 2xx carries the answer to the INVITE's offer, or an offer of
      // ours when the INVITE had none (the answer then comes in the ACK).
      const hasOffer = call.invite.body.length > 0;
      const sdp = hasOffer ? sdpAnswer(call.invite, mediaAddress) : sdpOffer(mediaAddress);
      // An offer may not go in an unreliable provisional (RFC 3261 §13.2.1): early media only answers one.
      if (policy.earlyMedia && sdp && hasOffer) call.respond(183, { body: sdp, contentType: 'application/sdp', headers });
      const t = setTimeout(() => {
        if (call.state !== 'ringing' || call.tx.answered) return;
        try {
          call.respond(200, { body: sdp, contentType: sdp ? 'application/sdp' : undefined, headers });
        } catch {
          return; // the UA closed while the call was ringing
        }
        if (policy.holdMs !== undefined) {
          const h = setTimeout(() => void call.bye().catch(() => undefined), policy.holdMs);
          h.unref();
        }
      }, policy.ringMs ?? 100);
      t.unref();
      return true;
    }
  }
}

let nextPort = 42000;

function mediaPort(): number {
  nextPort = nextPort >= 58000 ? 42000 : nextPort + 2;
  return nextPort;
}

/** An SDP offer for a 2xx to an INVITE that came without one. */
export function sdpOffer(address: string): string {
  return serializeSdp(createOffer({ address, port: mediaPort() }));
}

/** An SDP answer to the INVITE's offer, or undefined when it has none or it does not parse. */
export function sdpAnswer(invite: SipMessage, address: string): string | undefined {
  if (invite.body.length === 0) return undefined;
  const port = mediaPort();
  try {
    return serializeSdp(createAnswer(parseSdp(invite.body), { address, port }));
  } catch {
    return undefined;
  }
}

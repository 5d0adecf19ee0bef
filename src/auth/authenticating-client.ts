/**
 * Digest retry as a wrapper around the UA (RFC 3261 §22.2, §22.3): send a request; when the
 * answer is 401 (WWW-Authenticate → Authorization) or 407 (Proxy-Authenticate →
 * Proxy-Authorization), send it again with credentials — same Call-ID and From tag, CSeq + 1,
 * a new branch — as the seed trace shows (REGISTER CSeq 1749 → 1750, INVITE 102 → 103).
 * A second challenge for the same realm means the credentials were refused; a challenge with
 * stale=true gets one more try (RFC 7616 §3.3).
 */
import { SipwrightError } from '../errors.js';
import type { SipMessage } from '../sip/message.js';
import type { ClientOutcome } from '../dialog/client-outcome.js';
import type { UacCall } from '../dialog/uac-call.js';
import type { OutgoingOptions, UserAgent } from '../dialog/user-agent.js';
import { parseDigestChallenges } from './challenge.js';
import { answerChallenge, chooseDigestChallenge } from './digest.js';

/** Who we are to the challenger. The password never leaves this object except as a digest. */
export interface DigestCredentialsSource {
  username: string;
  password: string;
  /** Only answer challenges for this realm (compared after trimming); default: any realm. */
  realm?: string;
}

/** A request outcome plus the challenges met on the way. */
export interface AuthOutcome extends ClientOutcome {
  /** The 401/407 responses answered, in order. */
  challenges: SipMessage[];
  /** Requests sent in all (1 when no challenge came). */
  attempts: number;
}

/** How many challenged retries at most (a stale nonce may cost one extra). */
const MAX_RETRIES = 3;

/** The credentials header answering a 401/407, or undefined when there is no usable challenge. */
export function authorizationFor(
  res: SipMessage,
  req: SipMessage,
  creds: DigestCredentialsSource,
  nc = 1,
): [string, string] | undefined {
  const proxy = res.status === 407;
  const values = res.getAll(proxy ? 'proxy-authenticate' : 'www-authenticate');
  if (values.length === 0) return undefined;
  let challenges;
  try {
    challenges = parseDigestChallenges(values).filter(
      (c) => creds.realm === undefined || c.realm.trim() === creds.realm.trim(),
    );
  } catch (err) {
    throw new SipwrightError('ERR_AUTH_CHALLENGE', `unreadable ${proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate'} in ${res.status}: ${(err as Error).message}`);
  }
  if (challenges.length === 0) return undefined;
  const value = answerChallenge({
    challenge: chooseDigestChallenge(challenges),
    method: req.method,
    uri: req.requestUri,
    username: creds.username,
    password: creds.password,
    body: req.body,
    nc,
  });
  return [proxy ? 'Proxy-Authorization' : 'Authorization', value];
}

/** Send an out-of-dialog request, answering 401/407 challenges. */
export async function requestWithAuth(
  ua: UserAgent,
  method: string,
  uri: string,
  opts: OutgoingOptions,
  creds: DigestCredentialsSource,
): Promise<AuthOutcome> {
  let req = ua.buildRequest(method, uri, opts);
  const hop = ua.hopFor(uri, opts.dest);
  const challenges: SipMessage[] = [];
  for (let attempt = 1; ; attempt++) {
    const outcome = await ua.send(req, hop);
    const res = outcome.final;
    if (!res || (res.status !== 401 && res.status !== 407) || attempt > MAX_RETRIES || refusedTwice(res, challenges)) {
      return { ...outcome, challenges, attempts: attempt };
    }
    const auth = authorizationFor(res, req, creds);
    if (!auth) return { ...outcome, challenges, attempts: attempt };
    challenges.push(res);
    req = retryOf(req, ua, hop, auth);
  }
}

/**
 * Wait for the INVITE's final response; answer a 401/407 by re-sending the INVITE with
 * credentials (the transaction already sent the ACK for the 407, RFC 3261 §17.1.1.3).
 * Resolves with the final response after authentication, or undefined on timeout.
 */
export async function inviteWithAuth(
  call: UacCall,
  creds: DigestCredentialsSource,
  timeoutMs: number,
): Promise<{ final: SipMessage | undefined; challenges: SipMessage[] }> {
  const challenges: SipMessage[] = [];
  for (let attempt = 1; ; attempt++) {
    const res = await call.waitFinal(timeoutMs);
    if (!res || (res.status !== 401 && res.status !== 407) || attempt > MAX_RETRIES || refusedTwice(res, challenges)) {
      return { final: res, challenges };
    }
    const auth = authorizationFor(res, call.invite, creds);
    if (!auth) return { final: res, challenges };
    challenges.push(res);
    call.resend([auth]);
  }
}

/** The same request again with credentials: CSeq + 1, new branch, Authorization replaced. */
function retryOf(req: SipMessage, ua: UserAgent, hop: ReturnType<UserAgent['hopFor']>, auth: [string, string]): SipMessage {
  const next = req.clone();
  next.set('CSeq', `${req.cseq.seq + 1} ${req.method}`);
  next.set('Via', ua.via(hop));
  next.set(auth[0], auth[1]);
  return next;
}

/**
 * A second challenge that is not stale, after we already answered one of the same kind, means
 * the credentials were refused (wrong password): stop, the caller sees the 401/407.
 */
function refusedTwice(res: SipMessage, earlier: SipMessage[]): boolean {
  const same = earlier.filter((e) => e.status === res.status);
  if (same.length === 0) return false;
  const header = res.get(res.status === 407 ? 'proxy-authenticate' : 'www-authenticate') ?? '';
  return !/stale\s*=\s*"?true/i.test(header);
}

/**
 * A persona: automatic behaviour installed on a UA — the carrier's registrar and 407 challenge,
 * the PBX's trunk registration and refresh, the phone's answering policy. What a persona
 * answers itself never reaches scenario steps as a new request; it is recorded as an
 * observation (steps and the API can still wait for it and assert on it).
 */
import type { UasCall } from '../dialog/uas-call.js';
import type { UserAgent } from '../dialog/user-agent.js';
import type { SipMessage } from '../sip/message.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';

export type PersonaKind = 'carrier' | 'pbx' | 'phone';

export interface Persona {
  readonly kind: PersonaKind;
  /**
   * The UA is bound: install state and start background work (e.g. register). `sink` receives
   * the requests the persona answers itself.
   */
  start(ua: UserAgent, sink?: ObservationSink): Promise<void>;
  /** A new out-of-dialog request other than INVITE; true when the persona answered it. */
  handleRequest(req: SipMessage, tx: ServerTransaction): boolean;
  /** A new INVITE; true when the persona took it (answered, refused or challenged it). */
  handleInvite(call: UasCall): boolean;
  /** Stop background work (refresh timers); leave the socket to the owner. */
  stop(): Promise<void>;
}

/** Where personas report what they answered themselves (the Party keeps them for steps). */
export interface ObservationSink {
  observe(req: SipMessage): void;
}

/**
 * The pbx persona — the customer side of seed 000 / 001: registers its trunk account to a
 * carrier with digest auth and keeps it refreshed (a fixed 1200 s like the Yamaha router of
 * seed 001, or a margin before the granted expiry like Asterisk), unregisters with Expires: 0,
 * places calls with a chosen caller-ID in From (seed 000 §3.2: the From user is the caller
 * number, the display name free), and answers, rejects busy or forwards incoming calls.
 */
import type { UasCall } from '../dialog/uas-call.js';
import type { OutgoingOptions, UserAgent } from '../dialog/user-agent.js';
import type { SipMessage } from '../sip/message.js';
import { createOffer, serializeSdp } from '../sip/sdp.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import { uriHost, type Address } from '../transport/transport.js';
import { answerWith, type AnswerPolicy } from './answer-policy.js';
import type { ObservationSink, Persona } from './persona.js';
import { RegistrationClient, releaseRegistration, type RefreshPolicy } from './registration-client.js';

export interface PbxOptions {
  /** The carrier (registrar and outbound proxy). */
  carrier: Address;
  /** Domain of the trunk (seed 000: voip0000.cloudpbx.com); default the carrier's host. */
  domain?: string;
  username: string;
  password: string;
  /** Expires the PBX asks for (default 3600; the carrier may grant less). */
  expires?: number;
  refresh?: RefreshPolicy;
  /** Register at start (default true). False: a proxy-only trunk, seed 001's no-register mode. */
  register?: boolean;
  /** Fault switch: never refresh, the registration lapses. */
  noRefresh?: boolean;
  /** How incoming calls are answered (default: left to steps). */
  answer?: AnswerPolicy;
}

export class Pbx implements Persona {
  readonly kind = 'pbx' as const;
  registration: RegistrationClient | undefined = undefined;
  private ua: UserAgent | undefined = undefined;

  private sink: ObservationSink | undefined = undefined;

  constructor(private readonly opts: PbxOptions) {}

  async start(ua: UserAgent, sink?: ObservationSink): Promise<void> {
    this.ua = ua;
    this.sink = sink;
    this.registration = new RegistrationClient(ua, {
      registrar: this.opts.carrier,
      domain: this.opts.domain,
      username: this.opts.username,
      password: this.opts.password,
      expires: this.opts.expires,
      refresh: this.opts.refresh,
      noRefresh: this.opts.noRefresh,
    });
    if (this.opts.register ?? true) await this.registration.register();
  }

  /** Stop refreshing and unregister (see {@link releaseRegistration}). */
  async stop(): Promise<void> {
    await releaseRegistration(this.registration);
  }

  /** Unregister (Expires: 0). */
  async unregister(): Promise<number> {
    const outcome = await this.registration?.unregister();
    return outcome?.status ?? 0;
  }

  /**
   * The INVITE of an outbound call to `number` through the trunk, caller-ID `callerId` in the
   * From user part and a free display name (seed 000 §3.2.1).
   */
  outboundCall(number: string, callerId: string, displayName = 'sipwright PBX'): { uri: string; opts: OutgoingOptions } {
    const domain = this.opts.domain ?? `${uriHost(this.opts.carrier.host)}:${this.opts.carrier.port}`;
    return {
      uri: `sip:${number}@${domain}`,
      opts: {
        dest: this.opts.carrier,
        from: `"${displayName}" <sip:${callerId}@${domain}>`,
        to: `<sip:${number}@${domain}>`,
        body: serializeSdp(createOffer({ address: this.ua?.local.host ?? '127.0.0.1', port: 43000 })),
        contentType: 'application/sdp',
      },
    };
  }

  /** Credentials for answering the carrier's 407 on outbound calls. */
  get credentials(): { username: string; password: string } {
    return { username: this.opts.username, password: this.opts.password };
  }

  handleRequest(req: SipMessage, tx: ServerTransaction): boolean {
    void req;
    void tx;
    return false;
  }

  handleInvite(call: UasCall): boolean {
    const policy = this.opts.answer ?? { mode: 'steps' };
    const taken = answerWith(call, policy, this.ua?.local.host ?? '127.0.0.1');
    if (taken) this.sink?.observe(call.invite);
    return taken;
  }
}

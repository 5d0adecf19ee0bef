/**
 * The phone persona: an extension that registers to a PBX (with digest auth, refreshed) and
 * answers, rejects busy, or ignores the calls it gets — or leaves them to scenario steps.
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

export interface PhoneOptions {
  /** The PBX to register at. */
  pbx: Address;
  /** Extension number = username. */
  extension: string;
  password: string;
  expires?: number;
  refresh?: RefreshPolicy;
  /** Register at start (default true). */
  register?: boolean;
  /** answer / busy / no-answer (ignore) / steps (default). */
  answer?: AnswerPolicy;
}

export class Phone implements Persona {
  readonly kind = 'phone' as const;
  registration: RegistrationClient | undefined = undefined;
  /** INVITEs this phone received, in order. */
  readonly invites: SipMessage[] = [];
  private ua: UserAgent | undefined = undefined;

  private sink: ObservationSink | undefined = undefined;

  constructor(private readonly opts: PhoneOptions) {}

  async start(ua: UserAgent, sink?: ObservationSink): Promise<void> {
    this.ua = ua;
    this.sink = sink;
    this.registration = new RegistrationClient(ua, {
      registrar: this.opts.pbx,
      username: this.opts.extension,
      password: this.opts.password,
      expires: this.opts.expires ?? 300,
      refresh: this.opts.refresh,
    });
    if (this.opts.register ?? true) {
      const outcome = await this.registration.register();
      if (!outcome.final || outcome.final.status >= 300) {
        const got = outcome.final ? `${outcome.final.status} ${outcome.final.reason}` : outcome.failureMessage;
        throw new Error(`phone ${this.opts.extension} could not register at ${uriHost(this.opts.pbx.host)}:${this.opts.pbx.port}: ${got}`);
      }
    }
  }

  /** Stop refreshing and unregister (see {@link releaseRegistration}). */
  async stop(): Promise<void> {
    await releaseRegistration(this.registration);
  }

  /** A call from this extension to `number` via the PBX. */
  dial(number: string): { uri: string; opts: OutgoingOptions } {
    const host = `${uriHost(this.opts.pbx.host)}:${this.opts.pbx.port}`;
    const me = this.ua ? `${uriHost(this.ua.local.host)}:${this.ua.local.port}` : host;
    return {
      uri: `sip:${number}@${host}`,
      opts: {
        dest: this.opts.pbx,
        from: `<sip:${this.opts.extension}@${host}>`,
        to: `<sip:${number}@${host}>`,
        body: serializeSdp(createOffer({ address: this.ua?.local.host ?? '127.0.0.1', port: 44000 })),
        contentType: 'application/sdp',
        contact: `<sip:${this.opts.extension}@${me}>`,
      },
    };
  }

  get credentials(): { username: string; password: string } {
    return { username: this.opts.extension, password: this.opts.password };
  }

  handleRequest(req: SipMessage, tx: ServerTransaction): boolean {
    void req;
    void tx;
    return false;
  }

  handleInvite(call: UasCall): boolean {
    this.invites.push(call.invite);
    const taken = answerWith(call, this.opts.answer ?? { mode: 'steps' }, this.ua?.local.host ?? '127.0.0.1');
    if (taken) this.sink?.observe(call.invite);
    return taken;
  }
}

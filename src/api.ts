/**
 * The TypeScript API's front door: start a party with a persona in one call.
 *
 *     const carrier = await sipwright.carrier({ realm: 'trunk.example', accounts: { '0000123456': pw }, listen: '127.0.0.1:5070' });
 *     const phone = await sipwright.phone({ pbx: '127.0.0.1:5080', extension: '200', password: '200pass' });
 *     const call = phone.invite('0312345678');
 *     await call.expect(486);
 *
 * The YAML steps run on the same Party and Call objects: one implementation.
 */
import { Carrier, type CarrierOptions } from './roles/carrier.js';
import { Pbx, type PbxOptions } from './roles/pbx.js';
import { Phone, type PhoneOptions } from './roles/phone.js';
import { Party, type PartyOptions } from './scenario/party.js';
import { parseHostPort } from './transport/address.js';
import type { Address } from './transport/transport.js';

/** Where a persona binds: `listen` as `host:port` or an Address (default 127.0.0.1, a free port). */
export interface BindOptions {
  listen?: string | Address;
  transport?: 'udp' | 'tcp';
  /** Name in ladders (default the persona kind). */
  name?: string;
}

const at = (a: string | Address | undefined, what: string): Address | undefined =>
  typeof a === 'string' ? parseHostPort(a, what, 0) : a;

/** A party without a persona (a plain UAC/UAS). */
export function party(opts: PartyOptions): Promise<Party> {
  return Party.start(opts);
}

/** A fake carrier ("guest server"): registrar with 401, 407 on INVITE, channel limit, quirks. */
export function carrier(opts: CarrierOptions & BindOptions): Promise<Party> {
  return Party.start({ name: opts.name ?? 'carrier', listen: at(opts.listen, 'listen'), transport: opts.transport, persona: new Carrier(opts) });
}

/** A fake PBX: registers its trunk at `carrier` and keeps it refreshed; calls go to the carrier. */
export function pbx(opts: Omit<PbxOptions, 'carrier'> & { carrier: string | Address } & BindOptions): Promise<Party> {
  const carrierAddress = at(opts.carrier, 'carrier')!;
  return Party.start({
    name: opts.name ?? 'pbx',
    listen: at(opts.listen, 'listen'),
    transport: opts.transport,
    target: carrierAddress,
    user: opts.username,
    answerChallenges: true,
    persona: new Pbx({ ...opts, carrier: carrierAddress }),
  });
}

/** A phone: an extension registered at `pbx`; `phone.invite('0312345678')` dials through the PBX. */
export function phone(opts: Omit<PhoneOptions, 'pbx'> & { pbx: string | Address } & BindOptions): Promise<Party> {
  const pbxAddress = at(opts.pbx, 'pbx')!;
  return Party.start({
    name: opts.name ?? `phone ${opts.extension}`,
    listen: at(opts.listen, 'listen'),
    transport: opts.transport,
    target: pbxAddress,
    user: opts.extension,
    answerChallenges: true,
    persona: new Phone({ ...opts, pbx: pbxAddress }),
  });
}

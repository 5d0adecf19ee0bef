/**
 * Shared pieces of the persona tests: start personas on loopback parties, wait for a
 * condition, read what went over the wire from a party's ladder.
 */
import { Party } from '../../src/scenario/party.js';
import type { Persona } from '../../src/roles/persona.js';
import { parseMessage } from '../../src/sip/parse.js';
import type { SipMessage } from '../../src/sip/message.js';

/** Short transaction timers: loopback answers in microseconds, failures should show fast. */
export const FAST_TIMERS = { t1: 100, t2: 400, t4: 500 };

/** Parties started by a test; `closeAll` in afterEach. */
export class Parties {
  private readonly list: Party[] = [];

  async start(name: string, persona?: Persona, extra: { host?: string } = {}): Promise<Party> {
    const party = await Party.start({ name, persona, listen: { host: extra.host ?? '127.0.0.1', port: 0 }, timers: FAST_TIMERS });
    this.list.push(party);
    return party;
  }

  async closeAll(): Promise<void> {
    const all = this.list.splice(0);
    await Promise.allSettled(all.reverse().map((p) => p.close(200)));
  }
}

/** Poll `check` every 20 ms until it returns something truthy; fail with `what` after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Messages a party sent (`out`) or received (`in`), parsed from its ladder, in order. */
export function wire(party: Party, direction: 'in' | 'out'): SipMessage[] {
  return party.ladder.filter((e) => e.direction === direction).map((e) => parseMessage(e.bytes));
}

/** The raw text of messages a party sent whose start line matches `startLine`. */
export function sentText(party: Party, startLine: RegExp): string[] {
  return party.ladder
    .filter((e) => e.direction === 'out')
    .map((e) => e.bytes.toString('latin1'))
    .filter((t) => startLine.test(t.slice(0, t.indexOf('\r\n'))));
}

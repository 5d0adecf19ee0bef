/** RegistrationClient: a refresh the registrar refuses is tried again, not dropped (RFC 3261 §10.2.4). */
import { afterEach, describe, expect, it } from 'vitest';
import { UserAgent } from '../../src/dialog/user-agent.js';
import { createResponse } from '../../src/sip/builders.js';
import { RegistrationClient } from '../../src/roles/registration-client.js';

const open: UserAgent[] = [];
afterEach(async () => {
  for (const ua of open.splice(0)) await ua.close();
});

describe('RegistrationClient', () => {
  it('retries a refresh that failed after retryS, and registers again', async () => {
    const registrar = await UserAgent.create();
    open.push(registrar);
    const answers = [200, 503, 200];
    const seen: number[] = [];
    registrar.onNewRequest = (req, tx) => {
      const status = answers[seen.length] ?? 200;
      seen.push(status);
      tx.respond(createResponse(req, status, { headers: status === 200 ? [['Expires', '2']] : [] }));
      return true;
    };
    const ua = await UserAgent.create();
    open.push(ua);
    const client = new RegistrationClient(ua, { registrar: registrar.local, username: 'u', password: 'p', refresh: { marginS: 1 }, retryS: 1 });
    expect((await client.register()).status).toBe(200);
    const deadline = Date.now() + 5000;
    while (client.attempts.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    client.stop();
    expect(client.attempts.map((a) => a.status)).toEqual([200, 503, 200]);
    // The retry came about retryS after the refused refresh, not a whole expiry later.
    const gap = client.attempts[2].at - client.attempts[1].at;
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(2000);
  });
});

/** The TypeScript API of issue 3/4: `sipwright.carrier(…)`, `sipwright.pbx(…)`, `call.expect(486)`. */
import { afterEach, describe, expect, it } from 'vitest';
import * as sipwright from '../../src/index.js';

const open: sipwright.Party[] = [];
afterEach(async () => {
  for (const p of open.splice(0).reverse()) await p.close();
});

describe('sipwright API', () => {
  it('a pbx registers at a carrier and its call to a busy number gets 486 after the 407', async () => {
    const carrier = await sipwright.carrier({ realm: 'voip0000.cloudpbx.com', accounts: { '0000123456': 'password' }, grantExpires: 120, answer: 'busy' });
    open.push(carrier);
    const pbx = await sipwright.pbx({ carrier: carrier.local, username: '0000123456', password: 'password' });
    open.push(pbx);
    expect((carrier.persona as sipwright.Carrier).registrations('0000123456')).toHaveLength(1);

    const call = pbx.invite('0312345678');
    const busy = await call.expect(486);
    expect(busy?.reason).toBe('Busy Here');
    expect(call.challenges.map((c) => c.status)).toEqual([407]);
  });

  it('a phone dials through a carrier acting as its registrar; expecting 200 on a busy line fails with both codes', async () => {
    const carrier = await sipwright.carrier({ realm: 'pbx', accounts: { '200': '200pass' }, answer: 'busy' });
    open.push(carrier);
    const phone = await sipwright.phone({ pbx: carrier.local, extension: '200', password: '200pass' });
    open.push(phone);
    const call = phone.invite('0312345678');
    await expect(call.expect(200)).rejects.toThrow('expected 200, received 486 Busy Here');
  });
});

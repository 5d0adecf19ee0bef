import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { SipwrightError, UsageError } from '../../src/errors.js';
import { RtpPortPool } from '../../src/media/port-pool.js';

// Ranges below Linux's ephemeral range (32768-60999), so port-0 binds elsewhere in the suite do
// not land in them; each test uses its own range.
const HOST = '127.0.0.1';

const blockers: Socket[] = [];

/** Hold a UDP port on loopback for the rest of the test, as another program would. */
function occupy(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, HOST, () => {
      blockers.push(socket);
      resolve();
    });
  });
}

afterEach(async () => {
  await Promise.all(blockers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RtpPortPool (RFC 3550 §11 port pairs)', () => {
  it.each([
    { name: 'an even min', min: 23000, max: 23007, expected: [23000, 23002, 23004, 23006] },
    { name: 'an odd min starts at the next even port', min: 23011, max: 23018, expected: [23012, 23014, 23016] },
    { name: 'an even max cannot start a pair (its RTCP port is outside)', min: 23020, max: 23024, expected: [23020, 23022] },
  ])('RTP SHOULD use an even port and RTCP the next odd one: $name', async ({ min, max, expected }) => {
    const pool = new RtpPortPool({ host: HOST, min, max });
    const pairs = [];
    for (let i = 0; i < expected.length; i++) pairs.push(await pool.allocate());
    expect(pairs).toEqual(expected.map((rtp) => ({ rtp, rtcp: rtp + 1 })));
    expect(pool.inUse).toBe(expected.length);
    await expect(pool.allocate()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_BIND' });
  });

  it.each([
    { name: 'its RTP port', busy: 23100 },
    { name: 'its RTCP port', busy: 23101 },
  ])('skips a pair when another socket holds $name', async ({ busy }) => {
    await occupy(busy);
    const pool = new RtpPortPool({ host: HOST, min: 23100, max: 23105 });
    expect(await pool.allocate()).toEqual({ rtp: 23102, rtcp: 23103 });
    expect(await pool.allocate()).toEqual({ rtp: 23104, rtcp: 23105 });
  });

  it('the pair it hands out can really be bound by the RTP layer', async () => {
    const pool = new RtpPortPool({ host: HOST, min: 23120, max: 23121 });
    const { rtp, rtcp } = await pool.allocate();
    await occupy(rtp);
    await occupy(rtcp);
  });

  it('concurrent allocations never get the same pair', async () => {
    const pool = new RtpPortPool({ host: HOST, min: 23140, max: 23149 });
    const pairs = await Promise.all([1, 2, 3, 4, 5].map(() => pool.allocate()));
    expect(new Set(pairs.map((p) => p.rtp)).size).toBe(5);
    expect(pairs.every((p) => p.rtp % 2 === 0 && p.rtcp === p.rtp + 1)).toBe(true);
  });

  it.each([
    {
      name: 'the only pair is allocated',
      setup: async (pool: RtpPortPool) => {
        await pool.allocate();
      },
      message:
        'no free RTP/RTCP port pair on 127.0.0.1 in ports 23200-23201 (1 allocated, 0 held after release, 0 busy in other sockets); widen min/max or release pairs',
    },
    {
      name: 'the only pair is busy in another socket',
      setup: () => occupy(23201),
      message:
        'no free RTP/RTCP port pair on 127.0.0.1 in ports 23200-23201 (0 allocated, 0 held after release, 1 busy in other sockets); widen min/max or release pairs',
    },
    {
      name: 'the only pair is held after release',
      setup: async (pool: RtpPortPool) => {
        pool.release((await pool.allocate()).rtp);
      },
      holdMs: 60_000,
      message:
        'no free RTP/RTCP port pair on 127.0.0.1 in ports 23200-23201 (0 allocated, 1 held after release, 0 busy in other sockets); widen min/max or release pairs',
    },
  ])('an exhausted range is a clear ERR_TRANSPORT_BIND: $name', async ({ setup, message, holdMs }) => {
    const pool = new RtpPortPool({ host: HOST, min: 23200, max: 23201, holdMs });
    await setup(pool);
    const err = await pool.allocate().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SipwrightError);
    expect(err).toMatchObject({ code: 'ERR_TRANSPORT_BIND', message });
  });

  it('release returns a pair to the pool and it is reused', async () => {
    const pool = new RtpPortPool({ host: HOST, min: 23300, max: 23301 });
    const first = await pool.allocate();
    expect(pool.release(first.rtp)).toBe(true);
    expect(pool.inUse).toBe(0);
    expect(await pool.allocate()).toEqual(first);
  });

  it('a released pair is handed out again as late as possible (round robin)', async () => {
    const pool = new RtpPortPool({ host: HOST, min: 23310, max: 23315 });
    const a = await pool.allocate();
    pool.release(a.rtp);
    expect((await pool.allocate()).rtp).toBe(23312);
    expect((await pool.allocate()).rtp).toBe(23314);
    expect((await pool.allocate()).rtp).toBe(23310);
  });

  it('with holdMs a released pair stays out of the pool until the hold ends', async () => {
    const pool = new RtpPortPool({ host: HOST, min: 23320, max: 23321, holdMs: 40 });
    const first = await pool.allocate();
    pool.release(first.rtp);
    expect(pool.held).toBe(1);
    await expect(pool.allocate()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_BIND' });
    await sleep(80);
    expect(pool.held).toBe(0);
    expect(await pool.allocate()).toEqual(first);
  });

  it('releasing a port that is not allocated does nothing', async () => {
    const pool = new RtpPortPool({ host: HOST, min: 23330, max: 23333 });
    const { rtp } = await pool.allocate();
    expect(pool.release(23332)).toBe(false);
    expect(pool.release(rtp)).toBe(true);
    expect(pool.release(rtp)).toBe(false);
    expect(pool.inUse).toBe(0);
  });

  it('defaults to 127.0.0.1, ports 20000-30000, no hold', () => {
    const pool = new RtpPortPool();
    expect(pool).toMatchObject({ host: '127.0.0.1', min: 20000, max: 30000, holdMs: 0, inUse: 0, held: 0 });
  });

  it.each([
    { name: 'min above max', options: { min: 23402, max: 23400 }, message: 'RtpPortPool: min 23402 and max 23400 must be ports with 1 <= min <= max <= 65535' },
    { name: 'max above 65535', options: { min: 23400, max: 70000 }, message: 'RtpPortPool: min 23400 and max 70000 must be ports with 1 <= min <= max <= 65535' },
    { name: 'a range with no even/odd pair', options: { min: 23401, max: 23402 }, message: 'RtpPortPool: ports 23401-23402 hold no even RTP port with its odd RTCP port (RFC 3550 §11)' },
    { name: 'a negative holdMs', options: { holdMs: -1 }, message: 'RtpPortPool: holdMs -1 must be a number of milliseconds >= 0' },
  ])('rejects $name as a usage error', ({ options, message }) => {
    expect(() => new RtpPortPool(options)).toThrow(UsageError);
    expect(() => new RtpPortPool(options)).toThrow(message);
  });

  it('a bind failure other than "in use" is reported with its cause', async () => {
    const pool = new RtpPortPool({ host: '192.0.2.1', min: 23500, max: 23501 });
    const err = await pool.allocate().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_TRANSPORT_BIND', message: expect.stringMatching(/^cannot bind UDP 192\.0\.2\.1:23500: .*EADDRNOTAVAIL/) });
    expect(pool.inUse).toBe(0);
  });
});

/** Target profiles: loading, checking with positions, flattening to profile.* variables. */
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/errors.js';
import { loadProfileText } from '../../src/scenario/profile.js';

const PBX = `name: test pbx
role: pbx
address: 127.0.0.1:5080
carrier:
  address: 127.0.0.1:5070
  realm: voip0000.cloudpbx.com
  username: "0000123456"
  password: "\${env.TRUNK_PASSWORD}"
  expires: 120
extensions:
  "200": { password: 200pass, caller_id: "0312345678" }
  "201": { password: 201pass, caller_id: "0312123434" }
dids:
  "0312345678": "200"
channel_limits:
  - { name: group1, did: "0312345678", limit: 2, refuse_code: 486 }
outbound_number: "0312349876"
`;

describe('target profile', () => {
  it('flattens a PBX profile into profile.* variables, maps also by position', () => {
    const { vars, profile } = loadProfileText(PBX, 'p.yaml', { TRUNK_PASSWORD: 'pw' });
    expect(profile.role).toBe('pbx');
    expect(vars['profile.address']).toBe('127.0.0.1:5080');
    expect(vars['profile.carrier.password']).toBe('pw');
    expect(vars['profile.carrier.expires']).toBe('120');
    expect(vars['profile.extensions.200.caller_id']).toBe('0312345678');
    expect(vars['profile.extensions.0.number']).toBe('200');
    expect(vars['profile.extensions.1.caller_id']).toBe('0312123434');
    expect(vars['profile.extensions.count']).toBe('2');
    expect(vars['profile.dids.0.number']).toBe('0312345678');
    expect(vars['profile.channel_limits.0.limit']).toBe('2');
    expect(vars['profile.transport']).toBe('udp');
  });

  it('reports unknown keys, bad values and unset environment variables with their positions', () => {
    const bad = PBX.replace('expires: 120', 'expires: soon').replace('outbound_number', 'outbound_nmber');
    let err: unknown;
    try {
      loadProfileText(bad, 'p.yaml', {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    const lines = (err as ScenarioError).message.split('\n');
    expect(lines).toContain('p.yaml:8:13: carrier.password: environment variable TRUNK_PASSWORD is not set');
    expect(lines).toContain('p.yaml:9:12: carrier.expires: Invalid input: expected number, received string');
    expect(lines).toContain('p.yaml:1:1: outbound_number: missing, expected it (see docs/target-profile.md)');
    expect(lines.some((l) => l.startsWith('p.yaml:') && l.includes('outbound_nmber: Unrecognized key'))).toBe(true);
  });
});

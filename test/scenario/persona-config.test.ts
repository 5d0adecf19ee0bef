/**
 * Persona configs for `sipwright serve`: snake_case YAML into CarrierOptions / PbxOptions /
 * PhoneOptions, strict maps, `${env.NAME}` for passwords, and every problem reported at once as
 * `file:line:column: field: what is wrong, expected …`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/errors.js';
import { loadPersonaConfig, loadPersonaConfigText } from '../../src/scenario/persona-config.js';
import type { PersonaKind } from '../../src/roles/persona.js';

const ENV = { TRUNK_PASSWORD: 'trunk-secret', PHONE_PASSWORD: 'phone-secret' };

function load(kind: PersonaKind, text: string) {
  return loadPersonaConfigText(text, 'persona.yaml', kind, { env: ENV });
}

/** The error lines of a config that must not load. */
function problems(kind: PersonaKind, text: string): string[] {
  try {
    load(kind, text);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as Error).message.split('\n');
  }
  throw new Error('the config loaded, expected problems');
}

describe('carrier config', () => {
  it('maps every key to CarrierOptions (seed 000 carrier: 120 s grant, 2 channels, realm with stray spaces)', () => {
    const cfg = load(
      'carrier',
      `
realm: trunk.example
accounts:
  0312345678: \${env.TRUNK_PASSWORD}
  "0312345679": plain
grant_expires: 120
challenge_invite: true
channel_limit: { limit: 2, refuse_code: 503 }
answer: { mode: answer, ring_ms: 2000, early_media: true }
quirks:
  realm_spaces: true
  no_contact_in_200: false
  compact_headers: true
  extra_headers: { X-Carrier-Node: tokyo-1, X-Route: [a, b] }
  expires_in: contact
  rechallenge_every_refresh: true
  alert_info: uri
listen: 127.0.0.1:5070
transport: TCP
`,
    );
    expect(cfg).toEqual({
      kind: 'carrier',
      listen: { host: '127.0.0.1', port: 5070 },
      transport: 'tcp',
      options: {
        realm: 'trunk.example',
        accounts: { '0312345678': 'trunk-secret', '0312345679': 'plain' },
        grantExpires: 120,
        challengeInvite: true,
        channelLimit: { limit: 2, refuseCode: 503 },
        answer: 'answer',
        ringMs: 2000,
        earlyMedia: true,
        quirks: {
          realmSpaces: true,
          noContactIn200: false,
          compactHeaders: true,
          extraHeaders: [['X-Carrier-Node', 'tokyo-1'], ['X-Route', 'a'], ['X-Route', 'b']],
          expiresIn: 'contact',
          rechallengeEveryRefresh: true,
          alertInfo: 'uri',
        },
      },
    });
  });

  it('the smallest carrier answers calls by default (a served persona has no steps)', () => {
    const cfg = load('carrier', 'realm: r\naccounts: { user: pw }\n');
    expect(cfg).toEqual({ kind: 'carrier', options: { realm: 'r', accounts: { user: 'pw' }, answer: 'answer' } });
  });

  it('answer may be given as the mode alone', () => {
    const cfg = load('carrier', 'realm: r\naccounts: { user: pw }\nanswer: no-answer\n');
    expect(cfg.options).toMatchObject({ answer: 'no-answer' });
  });

  it('a phone number written without quotes keeps its leading zero', () => {
    const cfg = load('carrier', 'realm: r\naccounts:\n  0312345678: pw\n');
    expect(Object.keys((cfg.options as { accounts: object }).accounts)).toEqual(['0312345678']);
  });

  it('reports every problem at once, in file order, with file, line, column and field', () => {
    expect(
      problems(
        'carrier',
        `realm: trunk.example
accounts: {}
grant_expire: 120
channel_limit: { limit: 0, refuse_code: 200 }
answer: { mode: ring }
quirks: { realm_space: true }
`,
      ),
    ).toEqual([
      'persona.yaml:2:11: accounts: an empty map, expected at least one of accounts (user name: password)',
      'persona.yaml:3:1: grant_expire: unknown key "grant_expire" in a carrier config (did you mean "grant_expires"?), allowed are: realm, accounts, grant_expires, challenge_invite, channel_limit, answer, quirks, listen, transport',
      'persona.yaml:4:25: channel_limit.limit: expected a whole number of calls, 1 or more, got 0',
      'persona.yaml:4:41: channel_limit.refuse_code: expected a final status 300-699, like 486 or 503, got 200',
      'persona.yaml:5:17: answer.mode: expected one of answer, busy, unavailable, no-answer, got "ring"',
      'persona.yaml:6:11: quirks.realm_space: unknown key "realm_space" in quirks (did you mean "realm_spaces"?), allowed are: realm_spaces, no_contact_in_200, compact_headers, extra_headers, expires_in, rechallenge_every_refresh, alert_info',
    ]);
  });

  it('a missing required key is named at the top of the file', () => {
    expect(problems('carrier', 'accounts: { user: pw }\n')).toEqual([
      'persona.yaml:1:1: realm: missing, expected the realm of the digest challenges, like trunk.example',
    ]);
  });

  it('grant_expires: 0 is refused: it would remove every binding at once', () => {
    expect(problems('carrier', 'realm: r\naccounts: { u: p }\ngrant_expires: 0\n')).toEqual([
      'persona.yaml:3:16: grant_expires: expected whole seconds, 1 or more, like 120, got 0',
    ]);
  });

  it('steps is not an answer mode of a served carrier', () => {
    expect(problems('carrier', 'realm: r\naccounts: { u: p }\nanswer: steps\n')).toEqual([
      'persona.yaml:3:9: answer.mode: expected one of answer, busy, unavailable, no-answer, got "steps"',
    ]);
  });

  it('an extra header name must be an RFC 3261 token', () => {
    expect(problems('carrier', 'realm: r\naccounts: { u: p }\nquirks:\n  extra_headers: { "X Bad": 1 }\n')).toEqual([
      'persona.yaml:4:20: quirks.extra_headers["X Bad"]: "X Bad" is not a header name, expected an RFC 3261 token like X-Carrier',
    ]);
  });
});

describe('pbx config', () => {
  it('maps every key to PbxOptions (seed 001 router: fixed refresh every 1200 s)', () => {
    const cfg = load(
      'pbx',
      `
carrier: 127.0.0.1:5070
domain: trunk.example
username: 0312345678
password: \${env.TRUNK_PASSWORD}
expires: 3600
refresh: { fixed_s: 1200 }
register: true
no_refresh: false
answer:
  mode: forward
  forward_to: sip:1004@127.0.0.1
  headers: { Diversion: "<sip:1003@127.0.0.1>;reason=no-answer" }
listen: "[::1]:5080"
`,
    );
    expect(cfg).toEqual({
      kind: 'pbx',
      listen: { host: '::1', port: 5080 },
      options: {
        carrier: { host: '127.0.0.1', port: 5070 },
        domain: 'trunk.example',
        username: '0312345678',
        password: 'trunk-secret',
        expires: 3600,
        refresh: { fixedS: 1200 },
        register: true,
        noRefresh: false,
        answer: { mode: 'forward', forwardTo: 'sip:1004@127.0.0.1', headers: [['Diversion', '<sip:1003@127.0.0.1>;reason=no-answer']] },
      },
    });
  });

  it('a carrier address without a port means 5060 (RFC 3261 §19.1.2); margin refresh; answer by default', () => {
    const cfg = load('pbx', 'carrier: localhost\nusername: u\npassword: p\nrefresh: { margin_s: 15 }\n');
    expect(cfg.options).toEqual({
      carrier: { host: 'localhost', port: 5060 },
      username: 'u',
      password: 'p',
      refresh: { marginS: 15 },
      answer: { mode: 'answer' },
    });
  });

  it('an unset environment variable, a non-env variable, both refresh kinds and a forward without target', () => {
    expect(
      problems(
        'pbx',
        `carrier: 127.0.0.1:abc
username: "\${user}"
password: \${env.NOT_SET}
refresh: { margin_s: 1, fixed_s: 2 }
answer: { mode: forward }
`,
      ),
    ).toEqual([
      'persona.yaml:1:10: carrier: "127.0.0.1:abc" has a bad port "abc", expected 0-65535',
      'persona.yaml:2:11: username: ${user} is not allowed here, expected only ${env.NAME} (the environment) in a persona config, or $${ for a literal ${',
      'persona.yaml:3:11: password: environment variable NOT_SET is not set (${env.NOT_SET}), expected it set in the environment of sipwright serve',
      'persona.yaml:4:10: refresh: expected exactly one of margin_s (refresh that long before the granted expiry) or fixed_s (refresh on a fixed period)',
      'persona.yaml:5:9: answer: missing forward_to, expected the 302 target with mode forward, like forward_to: sip:1004@192.0.2.10',
    ]);
  });

  it('$${ writes a literal ${ (a password that holds one)', () => {
    const cfg = load('pbx', 'carrier: 127.0.0.1:5070\nusername: u\npassword: "a$${b}"\n');
    expect(cfg.options).toMatchObject({ password: 'a${b}' });
  });

  it('carrier keys in a pbx config are unknown keys', () => {
    expect(problems('pbx', 'carrier: 127.0.0.1:5070\nusername: u\npassword: p\nrealm: r\n')[0]).toBe(
      'persona.yaml:4:1: realm: unknown key "realm" in a pbx config, allowed are: carrier, domain, username, no_refresh, password, expires, refresh, register, answer, listen, transport',
    );
  });
});

describe('phone config', () => {
  it('maps every key to PhoneOptions', () => {
    const cfg = load(
      'phone',
      'pbx: 127.0.0.1:5060\nextension: 201\npassword: ${env.PHONE_PASSWORD}\nexpires: 300\nanswer: { mode: busy, code: 600 }\ntransport: udp\n',
    );
    expect(cfg).toEqual({
      kind: 'phone',
      transport: 'udp',
      options: {
        pbx: { host: '127.0.0.1', port: 5060 },
        extension: '201',
        password: 'phone-secret',
        expires: 300,
        answer: { mode: 'busy', code: 600 },
      },
    });
  });

  it('forward_to and code only go with the modes that use them', () => {
    expect(problems('phone', 'pbx: 127.0.0.1\nextension: 201\npassword: p\nanswer: { mode: answer, code: 486, forward_to: sip:a@b }\n')).toEqual([
      'persona.yaml:4:25: answer.code: code is only used with mode busy or unavailable, expected no code with mode answer',
      'persona.yaml:4:36: answer.forward_to: forward_to is only used with mode forward, expected no forward_to with mode answer',
    ]);
  });
});

describe('files', () => {
  it('a list, an empty file, broken YAML and a duplicate key are each one positioned line', () => {
    expect(problems('phone', '- a\n')).toEqual(['persona.yaml:1:1: the file is a list, expected a map of phone settings (see docs/personas.md)']);
    expect(problems('phone', '')).toEqual(['persona.yaml:1:1: the file is empty, expected a map of phone settings (see docs/personas.md)']);
    expect(problems('phone', 'pbx: [::1\n')[0]).toMatch(/^persona\.yaml:2:1: invalid YAML: .*, expected valid YAML/);
    expect(problems('phone', 'pbx: 127.0.0.1\nextension: 201\nextension: 202\npassword: p\n')).toEqual([
      'persona.yaml:3:1: extension: duplicate key "extension" (first at line 2), expected each key once in a map',
    ]);
  });

  it('loadPersonaConfig reads a file and names it in errors; a missing file is one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipwright-persona-'));
    const file = join(dir, 'carrier.yaml');
    writeFileSync(file, 'realm: r\naccounts: { u: p }\n');
    expect(loadPersonaConfig(file, 'carrier').kind).toBe('carrier');
    expect(() => loadPersonaConfig(join(dir, 'nope.yaml'), 'carrier')).toThrow(
      `${join(dir, 'nope.yaml')}: cannot read the file (ENOENT), expected a readable carrier config`,
    );
  });
});

import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUserError, ScenarioError, UsageError } from '../../src/errors.js';
import { loadScenario, loadScenarioText } from '../../src/scenario/loader.js';

const BAD = fileURLToPath(new URL('../fixtures/scenarios/bad/', import.meta.url));

/** [line, column, field, message] of one expected problem. */
type Problem = [number, number, string, string];

function scenarioError(load: () => unknown): ScenarioError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return err as ScenarioError;
  }
  throw new Error('expected a ScenarioError, the scenario loaded');
}

/** The error must hold exactly these problems, in this order, and print them one per line. */
function expectProblems(err: ScenarioError, file: string, expected: Problem[]): void {
  expect(err.problems).toEqual(expected.map(([line, column, field, message]) => ({ pos: { file, line, column }, field, message })));
  expect(err.message.split('\n')).toEqual(
    expected.map(([line, column, field, message]) => `${file}:${line}:${column}: ${field ? `${field}: ` : ''}${message}`),
  );
}

const BUILTINS = 'target, target_host, target_port, local, local_host, local_port, transport, call_id, iteration, branch, expires, env.NAME';
const SEND_KEYS = 'send, uri, from, to, headers, body, sdp, content-type, auth, party, call';
const STATUS = 'expected a code like 200, a class like 2xx, or a list of them';
const DURATION = 'expected a duration like 500ms, 10s or 2m (a bare number is seconds)';

// [fixture in test/fixtures/scenarios/bad/, the problems it must report]
const FIXTURES: Array<[string, Problem[]]> = [
  ['yaml-syntax.yaml', [[3, 1, '', 'invalid YAML: Tabs are not allowed as indentation, expected spaces for indentation']]],
  [
    'yaml-unquoted-display-name.yaml',
    [[4, 23, '', `invalid YAML: Unexpected scalar at node end, expected a value that starts with a quote to end with it (quote the whole value, like '"Alice" <sip:alice@x>')`]],
  ],
  ['duplicate-key.yaml', [[5, 5, 'steps[0].uri', 'duplicate key "uri" (first at line 4), expected each key once in a map']]],
  [
    'unknown-top-level-key.yaml',
    [[2, 1, 'tag', 'unknown key "tag" at the top level (did you mean "tags"?), allowed are: name, description, tags, timeout, vars, role, transport, credentials, auto, parties, steps']],
  ],
  ['unknown-step-key.yaml', [[4, 5, 'steps[0].heders', `unknown key "heders" for send: INVITE (did you mean "headers"?), allowed are: ${SEND_KEYS}`]]],
  [
    'reason-on-request.yaml',
    [[4, 5, 'steps[0].reason', `unknown key "reason" for send: INVITE (reason belongs to responses, like send: 200), allowed are: ${SEND_KEYS}`]],
  ],
  [
    'two-step-keywords.yaml',
    [[3, 5, 'steps[0]', '2 step keywords (send, expect) in one item, expected exactly one; write each step as its own "- " item']],
  ],
  ['bad-status.yaml', [[6, 13, 'steps[2].expect', `"2xy" is not a status, ${STATUS}`]]],
  [
    'bad-method.yaml',
    [[3, 11, 'steps[0].send', '"inv ite" is not a method, expected an RFC 3261 token in upper case like INVITE, a status code like 180, or raw']],
  ],
  ['bad-duration.yaml', [[5, 14, 'steps[1].timeout', `"5 sec" is not a duration, ${DURATION}`]]],
  ['unknown-party.yaml', [[8, 12, 'steps[1].party', 'unknown party "phne" (did you mean "phone"?), expected one of the parties: pbx, phone']]],
  [
    'ack-with-auto-ack.yaml',
    [[7, 11, 'steps[2].send', 'the core already sends ACK for a 2xx to INVITE (auto.ack is on for party uac), expected auto: { ack: false } at the top level to send ACK yourself, or remove this step']],
  ],
  [
    'response-after-bye.yaml',
    [[9, 11, 'steps[4].send', 'the core already answered the BYE with 200 (auto.bye is on for party uas), expected auto: { bye: false } at the top level to answer it yourself, or remove this step']],
  ],
  [
    'sdp-and-body.yaml',
    [[4, 10, 'steps[0].sdp', 'sdp and body cannot both be given, expected sdp: offer|answer for an SDP body or body: for any other text']],
  ],
  [
    'refresh-every-and-margin.yaml',
    [[5, 14, 'steps[1].refresh', 'both every and margin given, expected exactly one: every: 1200s (a fixed interval) or margin: 15s (before the granted expiry)']],
  ],
  ['undefined-variable.yaml', [[6, 10, 'steps[0].uri', `undefined variable \${usr} (did you mean \${user}?), defined are: user, and the built-ins ${BUILTINS}`]]],
  [
    'capture-before-defined.yaml',
    [[7, 21, 'steps[1].headers.X-Remote-Tag', 'undefined variable ${remote_tag}: it is defined only by steps[2].capture.remote_tag (line 10), which does not run before this step; expected it defined earlier: move this step after that one or give ${remote_tag} a default in vars']],
  ],
  [
    'parties-and-role.yaml',
    [[2, 1, 'role', 'not allowed at the top level together with parties, expected it inside the party it belongs to: parties.<name>.role']],
  ],
  ['missing-name.yaml', [[1, 1, 'name', 'missing, expected the scenario name, like "Basic call"']]],
  ['list-not-map.yaml', [[1, 1, '', 'the file is a list, expected a map with at least name and steps (see docs/scenario-format.md)']]],
  ['empty.yaml', [[1, 1, '', 'the file is empty, expected a map with at least name and steps (see docs/scenario-format.md)']]],
  [
    'several-problems.yaml',
    [
      [2, 10, 'timeout', `"10 s" is not a duration, ${DURATION}`],
      [7, 10, 'steps[0].uri', `undefined variable \${usr} (did you mean \${user}?), defined are: user, and the built-ins ${BUILTINS}`],
      [9, 19, 'steps[1].expect[1]', `"2xy" is not a status, ${STATUS}`],
      [12, 33, 'steps[2].headers.Contact.equal', 'unknown key "equal" in a header check (did you mean "equals"?), allowed are: equals, matches, contains, present, absent, gt, gte, lt, lte'],
      [15, 11, 'steps[3].send', 'the core already sends ACK for a 2xx to INVITE (auto.ack is on for party uac), expected auto: { ack: false } at the top level to send ACK yourself, or remove this step'],
      [19, 12, 'steps[5].pause', `"soon" is not a duration, ${DURATION}`],
    ],
  ],
];

describe('bad scenario files: every problem, with file:line:column and field', () => {
  it.each(FIXTURES)('%s', (name, expected) => {
    const file = relative(process.cwd(), join(BAD, name));
    expectProblems(scenarioError(() => loadScenario(file, { knownVars: [] })), file, expected);
  });

  it('is a user error (one message, no stack) with the stable code ERR_SCENARIO', () => {
    const err = scenarioError(() => loadScenario(join(BAD, 'empty.yaml')));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.code).toBe('ERR_SCENARIO');
    expect(isUserError(err)).toBe(true);
  });
});

const H = 'name: t\nsteps:\n';
const CREDS = 'name: t\ncredentials: { username: u, password: p }\nsteps:\n';
const EXPECT_KEYS = 'expect, optional, timeout, headers, sdp, capture, party, call';
const OPS = 'equals, matches, contains, present, absent, gt, gte, lt, lte';

// [case, scenario text (file t.yaml), the problems]
const INLINE: Array<[string, string, Problem[]]> = [
  ['a bare word that is not a step', `${H}  - ring\n`, [[3, 5, 'steps[0]', 'unknown step "ring", expected a step like send: INVITE, or one of the bare words auth, cancel, hangup, register, unregister']]],
  ['a misspelt step keyword', `${H}  - sned: INVITE\n`, [[3, 5, 'steps[0].sned', 'unknown key "sned" (did you mean "send"?), expected a step keyword: send, expect, auth, pause, cancel, hangup, register, unregister, refresh, parallel, repeat, set, channel-limit']]],
  ['an item with options but no step keyword', `${H}  - { uri: "sip:x", party: uac }\n`, [[3, 5, 'steps[0]', 'no step keyword (found uri, party), expected exactly one of send, expect, auth, pause, cancel, hangup, register, unregister, refresh, parallel, repeat, set, channel-limit']]],
  ['a lower-case method (methods are case-sensitive, RFC 3261 §7.1)', `${H}  - expect: invite\n`, [[3, 13, 'steps[0].expect', '"invite" is not a method (methods are case-sensitive), expected INVITE, or a status like 200']]],
  ['a status out of 100-699', `${H}  - send: 700\n  - expect: [180, 99]\n`, [
    [3, 11, 'steps[0].send', '700 is not a status, expected a response code from 100 to 699 or a method like INVITE'],
    [4, 19, 'steps[1].expect[1]', `99 is not a status, ${STATUS}`],
  ]],
  ['a request option on expect', `${H}  - expect: 200\n    uri: x\n`, [[4, 5, 'steps[0].uri', `unknown key "uri" for expect: 200 (uri belongs to send steps; to check a received header use headers:), allowed are: ${EXPECT_KEYS}`]]],
  ['send: raw without raw', `${H}  - send: raw\n`, [[3, 5, 'steps[0].raw', 'missing, expected the message text']]],
  ['content-type without body', `${H}  - send: MESSAGE\n    content-type: text/plain\n`, [[4, 19, 'steps[0].content-type', 'content-type without body, expected it next to body: (sdp: sets application/sdp itself)']]],
  ['a header name that is not a token, and an empty list of values', `${H}  - send: INVITE\n    headers: { "X Foo": bar, Route: [] }\n`, [
    [4, 16, 'steps[0].headers["X Foo"]', '"X Foo" is not a header name, expected an RFC 3261 token like X-Custom'],
    [4, 37, 'steps[0].headers.Route', 'an empty list, expected at least one value'],
  ]],
  ['header checks that are empty, a list, or not a number', `${H}  - expect: 200\n    headers: { X: {}, Y: [a], Z: { gt: abc } }\n`, [
    [4, 19, 'steps[0].headers.X', `an empty map, expected one or more of ${OPS}`],
    [4, 26, 'steps[0].headers.Y', `expected present, absent, a text to equal, or a map of checks (${OPS}), got a list`],
    [4, 40, 'steps[0].headers.Z.gt', 'expected a number, got "abc"'],
  ]],
  ['a regular expression that does not compile', `${H}  - expect: 200\n    headers: { From: { matches: "([a-z" } }\n`, [[4, 33, 'steps[0].headers.From.matches', '"([a-z" is not a regular expression (Invalid regular expression: /([a-z/: Unterminated character class), expected JavaScript RegExp syntax']]],
  ['sdp checks with unknown values', `${H}  - expect: 200\n    sdp: { port: zero, direction: both }\n`, [
    [4, 18, 'steps[0].sdp.port', 'expected one of nonzero, got "zero"'],
    [4, 35, 'steps[0].sdp.direction', 'expected one of sendrecv, sendonly, recvonly, inactive, got "both"'],
  ]],
  ['capture names that are not variable names, and a capture without from', `${H}  - expect: 200\n    capture: { 1tag: status, env.X: status, t: { param: tag } }\n`, [
    [4, 16, 'steps[0].capture.1tag', '"1tag" is not a variable name, expected letters, digits, _ . - starting with a letter or _'],
    [4, 30, 'steps[0].capture["env.X"]', '"env.X" is not a variable name you can define (env.* reads the environment), expected another name'],
    [4, 48, 'steps[0].capture.t.from', 'missing, expected status, reason, method, request-uri, body, or a header name'],
  ]],
  ['values on cancel, hangup and an empty pause', `${H}  - cancel: now\n  - hangup: 5s\n  - pause:\n`, [
    [3, 13, 'steps[0].cancel', 'expected nothing (write "- cancel"), got "now"'],
    [4, 13, 'steps[1].hangup', 'expected nothing or a map of timeout, got "5s"'],
    [5, 5, 'steps[2].pause', `${DURATION}, got nothing`],
  ]],
  ['repeat with count 0 and no steps', `${H}  - repeat: { count: 0, steps: [] }\n`, [
    [3, 22, 'steps[0].repeat.count', 'expected a whole number, 1 or more, got 0'],
    [3, 32, 'steps[0].repeat.steps', 'an empty list, expected at least one step'],
  ]],
  ['refresh with neither every nor margin', `${H}  - refresh: {}\n`, [[3, 14, 'steps[0].refresh', 'neither every nor margin given, expected exactly one: every: 1200s (a fixed interval) or margin: 15s (before the granted expiry)']]],
  ['register with a negative expiry and a bad status', `${CREDS}  - register: { expires: -5, expect: 99 }\n`, [
    [4, 26, 'steps[0].register.expires', 'expected whole seconds, like 3600, got -5'],
    [4, 38, 'steps[0].register.expect', `99 is not a status, ${STATUS}`],
  ]],
  ['problems inside parallel branches and repeat bodies', `${H}  - parallel:\n      - - send: INVITE\n          reason: x\n      - []\n  - repeat: { count: 2, steps: [ { expect: 2xy } ] }\n`, [
    [5, 11, 'steps[0].parallel[0][0].reason', `unknown key "reason" for send: INVITE (reason belongs to responses, like send: 200), allowed are: ${SEND_KEYS}`],
    [6, 9, 'steps[0].parallel[1]', 'an empty list, expected at least one step'],
    [7, 44, 'steps[1].repeat.steps[0].expect', `"2xy" is not a status, ${STATUS}`],
  ]],
  ['auth with no credentials anywhere', `${H}  - send: INVITE\n    auth: true\n  - expect: 401\n  - auth\n`, [
    [4, 11, 'steps[0].auth', 'no credentials to answer a challenge with (party uac has none), expected credentials: { username, password } at the top level'],
    [6, 5, 'steps[2].auth', 'no credentials to answer a challenge with (party uac has none), expected credentials: { username, password } at the top level or auth: { credentials: … }'],
  ]],
  ['a response right after expect: CANCEL while auto.cancel is on (RFC 3261 §9.2)', 'name: t\nrole: uas\nsteps:\n  - expect: INVITE\n  - expect: CANCEL\n  - send: 487\n    to: INVITE\n', [
    [6, 11, 'steps[2].send', 'the core already answered the CANCEL with 200 and the INVITE with 487 (auto.cancel is on for party uas), expected auto: { cancel: false } at the top level to answer it yourself, or remove this step'],
  ]],
  ['party settings of the wrong type or unknown', 'name: t\ntransport: sctp\nauto: { ack: maybe, retry: true }\ncredentials: { user: x }\nsteps: [cancel]\n', [
    [2, 12, 'transport', 'expected one of udp, tcp, got "sctp"'],
    [3, 14, 'auto.ack', 'expected true or false, got "maybe"'],
    [3, 21, 'auto.retry', 'unknown key "retry" in auto, allowed are: trying, ack, bye, cancel'],
    [4, 14, 'credentials.username', 'missing, expected the user name'],
    [4, 14, 'credentials.password', 'missing, expected the password, like ${env.TRUNK_PASSWORD}'],
    [4, 16, 'credentials.user', 'unknown key "user" in credentials, allowed are: username, password, realm'],
  ]],
  ['parties that are empty', 'name: t\nparties: {}\nsteps: [cancel]\n', [[2, 10, 'parties', 'an empty map, expected at least one of parties']]],
  ['a party without a role, with a misspelt key, a bad name and bad values', 'name: t\nparties:\n  pbx: { rol: uac }\n  9x: { role: foo, listen: nohost }\nsteps: [cancel]\n', [
    [3, 8, 'parties.pbx.role', 'missing, expected one of uac, uas, carrier, pbx, phone'],
    [3, 10, 'parties.pbx.rol', 'unknown key "rol" in a party (did you mean "role"?), allowed are: role, transport, listen, user, target, credentials, auto, carrier, pbx, phone'],
    [4, 3, 'parties.9x', '"9x" is not a party name, expected letters, digits, _ . - starting with a letter or _'],
    [4, 15, 'parties.9x.role', 'expected one of uac, uas, carrier, pbx, phone, got "foo"'],
    [4, 28, 'parties.9x.listen', '"nohost" is not host:port, expected like 127.0.0.1:5060 or [::1]:5060'],
  ]],
  ['vars that are not text or have bad names', 'name: t\nvars: { a: [1], b: null, "c d": x }\nsteps: [cancel]\n', [
    [2, 12, 'vars.a', 'expected text, got a list'],
    [2, 20, 'vars.b', 'expected text, got nothing'],
    [2, 26, 'vars["c d"]', '"c d" is not a variable name, expected letters, digits, _ . - starting with a letter or _'],
  ]],
  ['steps that are a map, and an empty name', 'name: ""\nsteps: { send: INVITE }\n', [
    [1, 7, 'name', 'expected the scenario name, like "Basic call", got ""'],
    [2, 8, 'steps', 'expected a list of steps, got a map'],
  ]],
  ['an empty list of steps', `${H.replace('steps:\n', 'steps: []\n')}`, [[2, 8, 'steps', 'an empty list, expected at least one step']]],
  ['malformed and unclosed variable references', `${H}  - send: OPTIONS\n    uri: "\${} \${ user }"\n    to: "<sip:\${target>"\n`, [
    [4, 10, 'steps[0].uri', '"${}" is not a variable reference, expected ${name} (letters, digits, _ . - starting with a letter or _) or ${env.NAME}'],
    [4, 10, 'steps[0].uri', '"${ user }" is not a variable reference, expected ${name} (letters, digits, _ . - starting with a letter or _) or ${env.NAME}'],
    [5, 9, 'steps[0].to', 'unclosed "${" in "<sip:${target>", expected ${name} (or $${ for a literal ${)'],
  ]],
  ['a variable a sibling parallel branch captures', `${H}  - parallel:\n    - - { expect: 200, capture: { a: status } }\n    - - { send: INFO, uri: "\${a}" }\n`, [
    [5, 28, 'steps[0].parallel[1][0].uri', 'undefined variable ${a}: it is defined only by steps[0].parallel[0][0].capture.a (line 4), which does not run before this step; expected it defined earlier: move this step after that one or give ${a} a default in vars'],
  ]],
  ['several YAML documents in one file', 'name: a\nsteps: [cancel]\n---\nname: b\n', [[3, 1, '', 'invalid YAML: Source contains multiple documents; please use YAML.parseAllDocuments(), expected one scenario (one YAML document) per file']]],
];

describe('scenario text: more mistakes, each named with its position', () => {
  it.each(INLINE)('%s', (_name, text, expected) => {
    expectProblems(scenarioError(() => loadScenarioText(text, 't.yaml')), 't.yaml', expected);
  });
});

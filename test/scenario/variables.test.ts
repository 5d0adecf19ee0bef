import { afterEach, describe, expect, it, vi } from 'vitest';
import { SipwrightError } from '../../src/errors.js';
import type { SourcePos } from '../../src/scenario/model.js';
import {
  Variables,
  formatSourcePos,
  interpolate,
  isVariableName,
  referencedNames,
} from '../../src/scenario/variables.js';

const pos: SourcePos = { file: 'scenarios/basic/call.yaml', line: 12, column: 7 };
const where = { pos, field: 'send.uri' };

function errorOf(fn: () => unknown): SipwrightError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SipwrightError);
    return err as SipwrightError;
  }
  throw new Error('expected a SipwrightError, nothing was thrown');
}

describe('Variables scopes', () => {
  it('gets, sets and tests values in one scope', () => {
    const vars = new Variables({ callee: 'bob' }, { env: {} });
    expect(vars.get('callee')).toBe('bob');
    expect(vars.has('callee')).toBe(true);
    expect(vars.get('caller')).toBeUndefined();
    expect(vars.has('caller')).toBe(false);
    vars.set('caller', 'alice').set('callee', 'carol');
    expect(vars.toRecord()).toEqual({ callee: 'carol', caller: 'alice' });
  });

  it('takes initial values as [name, value] pairs too', () => {
    const vars = new Variables([['a', '1'], ['b.c-d', '2']], { env: {} });
    expect([...vars.own()]).toEqual([['a', '1'], ['b.c-d', '2']]);
  });

  it('an empty string is a value, not an unset variable', () => {
    const vars = new Variables({ empty: '' }, { env: {} });
    expect(vars.has('empty')).toBe(true);
    expect(interpolate('[${empty}]', vars, where)).toBe('[]');
  });

  it('a child scope reads through to its parents and shadows them', () => {
    const root = new Variables({ a: 'root-a', b: 'root-b' }, { env: {} });
    const mid = root.child({ b: 'mid-b' });
    const leaf = mid.child();
    leaf.set('c', 'leaf-c');
    expect(leaf.parent).toBe(mid);
    expect([leaf.get('a'), leaf.get('b'), leaf.get('c')]).toEqual(['root-a', 'mid-b', 'leaf-c']);
    expect(leaf.toRecord()).toEqual({ a: 'root-a', b: 'mid-b', c: 'leaf-c' });
  });

  it('a write lands in the scope where the step runs, not in the parent or a sibling', () => {
    const root = new Variables({}, { env: {} });
    const branch1 = root.child().set('remote_tag', 'one');
    const branch2 = root.child().set('remote_tag', 'two');
    expect(root.has('remote_tag')).toBe(false);
    expect(branch1.get('remote_tag')).toBe('one');
    expect(branch2.get('remote_tag')).toBe('two');
  });

  it('commit hands a finished branch its values back to the parent', () => {
    const root = new Variables({ keep: 'root' }, { env: {} });
    const branch = root.child().set('remote_tag', 'abc').set('keep', 'branch');
    branch.commit();
    expect(root.toRecord()).toEqual({ keep: 'branch', remote_tag: 'abc' });
    root.commit(); // no parent: nothing happens
    expect(root.get('remote_tag')).toBe('abc');
  });

  it('delete removes a value from this scope only', () => {
    const root = new Variables({ x: 'root' }, { env: {} });
    const child = root.child({ x: 'child' });
    expect(child.delete('x')).toBe(true);
    expect(child.get('x')).toBe('root');
    expect(child.delete('x')).toBe(false);
  });

  it.each([
    ['1abc', 'invalid variable name "1abc"'],
    ['a b', 'invalid variable name "a b"'],
    ['', 'invalid variable name ""'],
    ['env.HOME', 'cannot set env.HOME: names starting with "env." read the environment'],
  ])('set(%j) is refused', (name, message) => {
    const err = errorOf(() => new Variables({}, { env: {} }).set(name, 'x'));
    expect(err.code).toBe('ERR_SCENARIO');
    expect(err.message.startsWith(message)).toBe(true);
  });

  it.each([
    ['user', true],
    ['_x', true],
    ['a.b-c_9', true],
    ['env.NAME', true],
    ['9a', false],
    ['-a', false],
    ['a$', false],
  ])('isVariableName(%j) is %s', (name, ok) => {
    expect(isVariableName(name)).toBe(ok);
  });
});

describe('environment variables', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('env.NAME reads the injected map, from every scope', () => {
    const root = new Variables({}, { env: { SIP_PASSWORD: 's3cret' } });
    expect(root.get('env.SIP_PASSWORD')).toBe('s3cret');
    expect(root.child().child().get('env.SIP_PASSWORD')).toBe('s3cret');
    expect(root.has('env.OTHER')).toBe(false);
  });

  it('env.NAME reads process.env when no map is injected', () => {
    vi.stubEnv('SIPWRIGHT_TEST_VAR', 'from-process');
    expect(interpolate('${env.SIPWRIGHT_TEST_VAR}', new Variables(), where)).toBe('from-process');
  });

  it('environment values are not part of toRecord', () => {
    expect(new Variables({ a: '1' }, { env: { B: '2' } }).toRecord()).toEqual({ a: '1' });
  });
});

describe('interpolate', () => {
  const vars = new Variables(
    { callee: 'bob', domain: 'example.com', 'a.b': 'dotted', 'x-y': 'dashed', _u: 'under' },
    { env: { SIP_PASSWORD: 's3cret' } },
  );

  it.each([
    ['no references at all', 'sip:bob@example.com', 'sip:bob@example.com'],
    ['one reference', 'sip:${callee}@example.com', 'sip:bob@example.com'],
    ['several and adjacent references', '${callee}${callee}@${domain}', 'bobbob@example.com'],
    ['the whole string', '${domain}', 'example.com'],
    ['dots, dashes and underscores in names', '${a.b}/${x-y}/${_u}', 'dotted/dashed/under'],
    ['an environment variable', 'pw=${env.SIP_PASSWORD}', 'pw=s3cret'],
    ['$${ is a literal ${', 'echo $${callee}', 'echo ${callee}'],
    ['$${ without a closing brace', 'a $${ b', 'a ${ b'],
    ['escape next to a reference', '$${x}=${callee}', '${x}=bob'],
    ['a lone $ stays', 'cost $5 {not a ref}', 'cost $5 {not a ref}'],
    ['$ before a brace-less name stays', '$callee', '$callee'],
    ['empty template', '', ''],
  ])('%s', (_name, template, expected) => {
    expect(interpolate(template, vars, where)).toBe(expected);
  });

  it('returns the very same string when there is nothing to replace', () => {
    const template = 'no $ signs with braces {}';
    expect(interpolate(template, vars, where)).toBe(template);
  });

  it('resolves from the nearest scope (nested parallel/repeat scopes)', () => {
    const iteration = vars.child({ iteration: '3' }).child({ callee: 'carol' });
    expect(interpolate('${callee}-${iteration}@${domain}', iteration, where)).toBe('carol-3@example.com');
  });

  it.each([
    ['an undefined variable', 'sip:${caller}@x', 'scenarios/basic/call.yaml:12:7: send.uri: undefined variable ${caller}'],
    [
      'an unset environment variable (named)',
      '${env.SIPWRIGHT_NOPE}',
      'scenarios/basic/call.yaml:12:7: send.uri: environment variable SIPWRIGHT_NOPE is not set (${env.SIPWRIGHT_NOPE})',
    ],
    ['an invalid name', 'x${1abc}', 'scenarios/basic/call.yaml:12:7: send.uri: invalid variable name ${1abc}'],
    ['an empty name', 'x${}', 'scenarios/basic/call.yaml:12:7: send.uri: invalid variable name ${}'],
    [
      'an unterminated reference',
      'sip:${callee',
      'scenarios/basic/call.yaml:12:7: send.uri: unterminated ${ in "sip:${callee" (write $${ for a literal ${)',
    ],
  ])('%s is an ERR_SCENARIO naming file:line:col and field', (_name, template, message) => {
    const err = errorOf(() => interpolate(template, vars, where));
    expect(err.code).toBe('ERR_SCENARIO');
    expect(err.message).toBe(message);
  });

  it('the error names the first undefined variable, after good ones', () => {
    const err = errorOf(() => interpolate('${callee} ${missing1} ${missing2}', vars, { pos, field: 'headers.X-Test' }));
    expect(err.message).toBe('scenarios/basic/call.yaml:12:7: headers.X-Test: undefined variable ${missing1}');
  });

  it('is re-entrant across calls (no regex state leaks after an error)', () => {
    expect(() => interpolate('${nope}', vars, where)).toThrow();
    expect(interpolate('${callee}', vars, where)).toBe('bob');
  });
});

describe('helpers', () => {
  it('formatSourcePos gives file:line:col', () => {
    expect(formatSourcePos(pos)).toBe('scenarios/basic/call.yaml:12:7');
  });

  it('referencedNames lists references in order and skips escapes and unterminated ones', () => {
    expect(referencedNames('${a} $${b} ${env.C}${a} ${d')).toEqual(['a', 'env.C', 'a']);
    expect(referencedNames('plain')).toEqual([]);
  });
});

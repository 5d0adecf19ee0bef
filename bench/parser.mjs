#!/usr/bin/env node
/**
 * Parser benchmark: messages per second for the SIP message layer, run against the built
 * output in dist/ (run `npm run build` first).
 *
 *   node bench/parser.mjs [iterations] [--rounds R] [--dist DIR]
 *
 * Defaults: 200000 iterations per round, 7 rounds, DIR = dist/. `--dist` points at another
 * build (e.g. of an older commit) to compare before and after on the same machine.
 *
 * (a) parseMessage only; (b) parseMessage plus what the transaction layer reads of every
 * message (Call-ID, CSeq, top Via branch, From tag, To tag); (c) serializeMessage of a message
 * built in code. The input is the seed INVITE with SDP (test/fixtures/seeds/000/3.2.1-invite.sip)
 * with CRLF line ends. Each case is warmed up, then timed in rounds; the best round is reported.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}
const distDir = option('--dist', undefined);
const ROUNDS = Number(option('--rounds', '7'));
const N = Number(args[0] ?? 200_000);
const dist = distDir === undefined ? new URL('../dist/', import.meta.url) : pathToFileURL(resolve(distDir) + '/');
let parseMessage, serializeMessage, SipMessage;
try {
  ({ parseMessage } = await import(new URL('sip/parse.js', dist).href));
  ({ serializeMessage } = await import(new URL('sip/serialize.js', dist).href));
  ({ SipMessage } = await import(new URL('sip/message.js', dist).href));
} catch (err) {
  console.error(`bench/parser.mjs: cannot load ${fileURLToPath(dist)} (run "npm run build" first): ${err.message}`);
  process.exit(1);
}

const fixture = fileURLToPath(new URL('../test/fixtures/seeds/000/3.2.1-invite.sip', import.meta.url));
const invite = Buffer.from(readFileSync(fixture, 'utf8').replace(/\r?\n/g, '\r\n'), 'utf8');

/** A request built in code, the way the harness builds what it sends. */
function builtInvite() {
  const m = new SipMessage();
  m.method = 'INVITE';
  m.requestUri = 'sip:080AAAAXXXX@192.0.2.10';
  m.append('Via', 'SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK17bf4505;rport');
  m.append('Max-Forwards', '70');
  m.append('From', '"aiueo PBX" <sip:0312123434@192.0.2.10>;tag=as5dd4eaee');
  m.append('To', '<sip:080AAAAXXXX@192.0.2.10>');
  m.append('Contact', '<sip:0312123434@192.0.2.20>');
  m.append('Call-ID', '6426c31c421e503b72515b46569f2ee0@192.0.2.10');
  m.append('CSeq', '102 INVITE');
  m.append('User-Agent', 'sipwright');
  m.append('Allow', 'INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY');
  m.append('Content-Type', 'application/sdp');
  m.body = parseMessage(invite).body;
  return m;
}
const built = builtInvite();

let sink = 0;
const cases = [
  ['parseMessage', () => {
    sink += parseMessage(invite).headers.length;
  }],
  ['parse + callId/cseq/branch/tags', () => {
    const m = parseMessage(invite);
    sink += m.callId.length + m.cseq.seq + m.topVia.branch.length + m.fromTag.length + (m.toTag === undefined ? 1 : 0);
  }],
  ['serializeMessage (built)', () => {
    sink += serializeMessage(built).length;
  }],
];

function timeRound(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const rows = [];
for (const [name, fn] of cases) {
  timeRound(fn, Math.max(1000, N / 10)); // warm-up: let the JIT settle
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) best = Math.min(best, timeRound(fn, N));
  rows.push({ case: name, 'msg/s': Math.round(N / best), 'µs/msg': ((best / N) * 1e6).toFixed(3) });
}

console.log(`sipwright parser benchmark: ${invite.length}-byte INVITE with SDP, ${N} iterations x ${ROUNDS} rounds, node ${process.version}`);
const w0 = Math.max(...rows.map((r) => r.case.length));
console.log(`${'case'.padEnd(w0)}  ${'msg/s'.padStart(10)}  ${'µs/msg'.padStart(8)}`);
for (const r of rows) console.log(`${r.case.padEnd(w0)}  ${String(r['msg/s']).padStart(10)}  ${r['µs/msg'].padStart(8)}`);
if (sink === 0) console.log('(unreachable)');

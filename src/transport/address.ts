/**
 * Parsing `host:port` as users type it (`127.0.0.1:5060`, `[::1]:5070`, `localhost`), with
 * errors that say what to fix.
 */
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';
import { bareHost, type Address } from './transport.js';

/**
 * Parse `host[:port]`. `what` names the option in errors (`--target`).
 * RFC 3261 §19.1.2: the default SIP port is 5060.
 */
export function parseHostPort(text: string, what: string, defaultPort = 5060): Address {
  const t = text.trim();
  if (t.length === 0) throw new UsageError(`${what}: empty address, expected host:port such as 127.0.0.1:5060`);
  let host: string;
  let portText: string | undefined;
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0) throw new UsageError(`${what}: "${text}" has an unterminated IPv6 reference, expected [::1]:5060`);
    host = t.slice(1, close);
    const rest = t.slice(close + 1);
    if (rest.length) {
      if (!rest.startsWith(':')) throw new UsageError(`${what}: "${text}": expected ':' after ']'`);
      portText = rest.slice(1);
    }
  } else {
    const colons = t.split(':').length - 1;
    if (colons > 1) {
      host = t; // bare IPv6 without port
    } else if (colons === 1) {
      host = t.slice(0, t.indexOf(':'));
      portText = t.slice(t.indexOf(':') + 1);
    } else {
      host = t;
    }
  }
  if (host.length === 0) throw new UsageError(`${what}: "${text}" has no host`);
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
      throw new UsageError(`${what}: "${text}" has a bad port "${portText}", expected 0-65535`);
    }
    port = Number(portText);
  }
  return { host: bareHost(host), port };
}

/** 4 or 6 for an IP literal, 0 for a name. */
export function ipFamily(host: string): 0 | 4 | 6 {
  return isIP(bareHost(host)) as 0 | 4 | 6;
}

/** True for loopback addresses (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = bareHost(host);
  return h === 'localhost' || h === '::1' || h.startsWith('127.');
}

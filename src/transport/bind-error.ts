/** One clear line for a socket that cannot be bound. */
import { SipwrightError } from '../errors.js';
import { formatAddress } from './transport.js';

const HINTS: Record<string, string> = {
  EADDRINUSE: 'the port is in use by another program: choose another port, or 0 for any free one',
  EADDRNOTAVAIL: 'that address is not on this machine: use 127.0.0.1 or one of its own addresses',
  EACCES: 'permission denied: ports below 1024 need privileges, use a higher port',
  ENOTFOUND: 'the host name does not resolve',
  EAFNOSUPPORT: 'this machine has no IPv6 on that interface',
};

/** Wrap a bind/listen failure as ERR_TRANSPORT_BIND naming the protocol, address and fix. */
export function bindError(protocol: string, host: string, port: number, err: Error): SipwrightError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const hint = HINTS[code] ?? err.message;
  return new SipwrightError(
    'ERR_TRANSPORT_BIND',
    `cannot listen on ${protocol} ${formatAddress({ host, port })}: ${hint}${code ? ` (${code})` : ''}`,
    { cause: err },
  );
}

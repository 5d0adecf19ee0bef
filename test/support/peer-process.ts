/** Small pieces shared by the helpers that start real peers (Asterisk, Kamailio). */

/** An OPTIONS that asks a peer on `port` whether it is up yet (any answer counts). */
export function readinessProbe(port: number, local: number, n: number): string {
  return [
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-ready-${process.pid}-${n};rport`,
    'Max-Forwards: 70',
    `From: <sip:ready@127.0.0.1:${local}>;tag=ready${n}`,
    `To: <sip:127.0.0.1:${port}>`,
    `Call-ID: ready-${process.pid}-${n}@127.0.0.1`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Signal a process we started, by PID; one that is already gone is fine. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

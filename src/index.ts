/** sipwright's library entry: the engine's public API. */
export { UserAgent, type UserAgentOptions, type OutgoingOptions } from './dialog/user-agent.js';
export { UacCall } from './dialog/uac-call.js';
export { UasCall } from './dialog/uas-call.js';
export { Dialog } from './dialog/dialog.js';
export type { ClientOutcome, RequestOptions } from './dialog/client-outcome.js';
export { SipMessage, type Header, type MessageOrigin } from './sip/message.js';
export { parseMessage } from './sip/parse.js';
export { serializeMessage } from './sip/serialize.js';
export { validateMessage, essentialProblem } from './sip/validate.js';
export { createRequest, createResponse, REASONS } from './sip/builders.js';
export type { Finding } from './sip/finding.js';
export { TransactionLayer } from './transaction/transaction-layer.js';
export { FakeClock, realClock, type Clock } from './transaction/clock.js';
export { UdpTransport } from './transport/udp.js';
export { TcpTransport } from './transport/tcp.js';
export type { Transport, Address } from './transport/transport.js';
export * from './errors.js';

/**
 * The header registry: canonical names, compact forms and which headers are comma-separated
 * lists. Keyed by lower-cased full name and by compact letter (RFC 3261 §7.3.3, §20).
 */

/** One registered header. `key` is the lower-cased full name used for look-ups. */
export interface HeaderSpec {
  key: string;
  /** Canonical spelling used when sipwright builds a message. */
  name: string;
  /** Compact form letter, when one is registered. */
  compact?: string;
  /** The grammar allows several values joined by commas (RFC 3261 §7.3.1). */
  list: boolean;
}

/* prettier-ignore */
const SPECS: HeaderSpec[] = [
  // RFC 3261 §20 compact forms
  { key: 'call-id', name: 'Call-ID', compact: 'i', list: false },
  { key: 'contact', name: 'Contact', compact: 'm', list: true },
  { key: 'content-encoding', name: 'Content-Encoding', compact: 'e', list: true },
  { key: 'content-length', name: 'Content-Length', compact: 'l', list: false },
  { key: 'content-type', name: 'Content-Type', compact: 'c', list: false },
  { key: 'from', name: 'From', compact: 'f', list: false },
  { key: 'subject', name: 'Subject', compact: 's', list: false },
  { key: 'supported', name: 'Supported', compact: 'k', list: true },
  { key: 'to', name: 'To', compact: 't', list: false },
  { key: 'via', name: 'Via', compact: 'v', list: true },
  // Compact forms from extensions
  { key: 'event', name: 'Event', compact: 'o', list: false }, // RFC 6665 §8.2.1
  { key: 'allow-events', name: 'Allow-Events', compact: 'u', list: true }, // RFC 6665
  { key: 'refer-to', name: 'Refer-To', compact: 'r', list: false }, // RFC 3515
  { key: 'referred-by', name: 'Referred-By', compact: 'b', list: false }, // RFC 3892
  { key: 'session-expires', name: 'Session-Expires', compact: 'x', list: false }, // RFC 4028
  { key: 'identity', name: 'Identity', compact: 'y', list: false }, // RFC 8224
  { key: 'accept-contact', name: 'Accept-Contact', compact: 'a', list: true }, // RFC 3841
  { key: 'reject-contact', name: 'Reject-Contact', compact: 'j', list: true }, // RFC 3841
  { key: 'request-disposition', name: 'Request-Disposition', compact: 'd', list: true }, // RFC 3841
  { key: 'identity-info', name: 'Identity-Info', compact: 'n', list: false }, // RFC 4474
  // Multi-value headers without compact forms
  { key: 'route', name: 'Route', list: true },
  { key: 'record-route', name: 'Record-Route', list: true },
  { key: 'allow', name: 'Allow', list: true },
  { key: 'accept', name: 'Accept', list: true },
  { key: 'accept-encoding', name: 'Accept-Encoding', list: true },
  { key: 'accept-language', name: 'Accept-Language', list: true },
  { key: 'require', name: 'Require', list: true },
  { key: 'proxy-require', name: 'Proxy-Require', list: true },
  { key: 'unsupported', name: 'Unsupported', list: true },
  { key: 'in-reply-to', name: 'In-Reply-To', list: true },
  { key: 'alert-info', name: 'Alert-Info', list: true },
  { key: 'call-info', name: 'Call-Info', list: true },
  { key: 'error-info', name: 'Error-Info', list: true },
  { key: 'warning', name: 'Warning', list: true },
  { key: 'path', name: 'Path', list: true }, // RFC 3327
  { key: 'service-route', name: 'Service-Route', list: true }, // RFC 3608
  { key: 'diversion', name: 'Diversion', list: true }, // RFC 5806
  { key: 'history-info', name: 'History-Info', list: true }, // RFC 7044
  { key: 'p-asserted-identity', name: 'P-Asserted-Identity', list: true }, // RFC 3325
  { key: 'p-preferred-identity', name: 'P-Preferred-Identity', list: true }, // RFC 3325
  { key: 'p-associated-uri', name: 'P-Associated-URI', list: true }, // RFC 7315
  { key: 'reason', name: 'Reason', list: true }, // RFC 3326
  { key: 'resource-priority', name: 'Resource-Priority', list: true }, // RFC 4412
  { key: 'accept-resource-priority', name: 'Accept-Resource-Priority', list: true }, // RFC 4412
  { key: 'security-client', name: 'Security-Client', list: true }, // RFC 3329
  { key: 'security-server', name: 'Security-Server', list: true }, // RFC 3329
  { key: 'security-verify', name: 'Security-Verify', list: true }, // RFC 3329
  // Single-value headers whose values may contain commas (dates, auth params)
  { key: 'cseq', name: 'CSeq', list: false },
  { key: 'max-forwards', name: 'Max-Forwards', list: false },
  { key: 'expires', name: 'Expires', list: false },
  { key: 'min-expires', name: 'Min-Expires', list: false },
  { key: 'user-agent', name: 'User-Agent', list: false },
  { key: 'server', name: 'Server', list: false },
  { key: 'date', name: 'Date', list: false },
  { key: 'timestamp', name: 'Timestamp', list: false },
  { key: 'www-authenticate', name: 'WWW-Authenticate', list: false },
  { key: 'proxy-authenticate', name: 'Proxy-Authenticate', list: false },
  { key: 'authorization', name: 'Authorization', list: false },
  { key: 'proxy-authorization', name: 'Proxy-Authorization', list: false },
  { key: 'authentication-info', name: 'Authentication-Info', list: false },
  { key: 'retry-after', name: 'Retry-After', list: false },
  { key: 'mime-version', name: 'MIME-Version', list: false },
  { key: 'content-disposition', name: 'Content-Disposition', list: false },
  { key: 'organization', name: 'Organization', list: false },
  { key: 'priority', name: 'Priority', list: false },
  { key: 'reply-to', name: 'Reply-To', list: false },
  { key: 'rseq', name: 'RSeq', list: false }, // RFC 3262
  { key: 'rack', name: 'RAck', list: false }, // RFC 3262
  { key: 'min-se', name: 'Min-SE', list: false }, // RFC 4028
  { key: 'subscription-state', name: 'Subscription-State', list: false },
];

const byKey = new Map<string, HeaderSpec>();
for (const spec of SPECS) {
  byKey.set(spec.key, spec);
  if (spec.compact) byKey.set(spec.compact, spec);
}

/**
 * Registered names and compact letters, bucketed by length and first and last letter, so the
 * parser's hot path finds the key of a known header with one pass of case-insensitive
 * comparison: no `toLowerCase` copy, no string hashing.
 */
const BUCKETS = 512;
const buckets: Array<string[] | undefined> = new Array(BUCKETS);
/** Parallel to `buckets`: the key each spelling stands for. */
const bucketKeys: Array<string[] | undefined> = new Array(BUCKETS);

function bucketOf(len: number, first: number, last: number): number {
  return ((len * 31) ^ ((first | 0x20) * 7) ^ (last | 0x20)) & (BUCKETS - 1);
}

for (const spec of SPECS) {
  for (const spelling of spec.compact ? [spec.key, spec.compact] : [spec.key]) {
    const b = bucketOf(spelling.length, spelling.charCodeAt(0), spelling.charCodeAt(spelling.length - 1));
    (buckets[b] ??= []).push(spelling);
    (bucketKeys[b] ??= []).push(spec.key);
  }
}

/** The key of the registered name or compact letter `name` matches in any case, or undefined. */
function registeredKey(name: string): string | undefined {
  const n = name.length;
  if (n === 0) return undefined;
  const b = bucketOf(n, name.charCodeAt(0), name.charCodeAt(n - 1));
  const list = buckets[b];
  if (list === undefined) return undefined;
  outer: for (let k = 0; k < list.length; k++) {
    const cand = list[k];
    if (cand.length !== n) continue;
    for (let i = 0; i < n; i++) {
      const want = cand.charCodeAt(i);
      const got = name.charCodeAt(i);
      // Letters compare case-insensitively; '-' and digits exactly.
      if (got !== want && (want < 0x61 || want > 0x7a || got !== want - 0x20)) continue outer;
    }
    return (bucketKeys[b] as string[])[k];
  }
  return undefined;
}

/** Compact letter → full name, for documentation and the linter. */
export const COMPACT_FORMS: ReadonlyMap<string, string> = new Map(
  SPECS.filter((s) => s.compact).map((s) => [s.compact as string, s.name]),
);

/**
 * The look-up key for a header name as written on the wire: compact forms map to their full
 * name, everything is lower-cased (header names are case-insensitive, RFC 3261 §7.3.1).
 */
export function headerKey(name: string): string {
  return registeredKey(name) ?? name.toLowerCase();
}

/** The registered spec for a name (full, compact, any case), or undefined for unknown headers. */
export function headerSpec(name: string): HeaderSpec | undefined {
  return byKey.get(name.toLowerCase());
}

/** Canonical spelling for a header sipwright writes itself (`call-id` → `Call-ID`). */
export function canonicalName(name: string): string {
  const spec = byKey.get(name.toLowerCase());
  if (spec) return spec.name;
  // Unknown header: capitalise each dash-separated word (x-asterisk-hangupcause → X-Asterisk-Hangupcause).
  return name
    .split('-')
    .map((w) => (w.length ? w[0].toUpperCase() + w.slice(1) : w))
    .join('-');
}

/** True when the header's grammar is a comma-separated list that may be split. */
export function isListHeader(key: string): boolean {
  return byKey.get(key)?.list ?? false;
}

/**
 * Which peer user agents to accept. As in the BSV node, patterns are matched
 * case-insensitively as substrings; `allow` overrides `deny`.
 */
export interface UserAgentPolicy {
  readonly deny: readonly string[];
  readonly allow: readonly string[];
}

/** The BSV node's default ban list: BCH and ABC agents. */
export const DEFAULT_UA_POLICY: UserAgentPolicy = Object.freeze({ deny: ['abc', 'cash', 'bch'], allow: [] });
/** Accept every agent (tests against other node families). */
export const ACCEPT_ANY_UA: UserAgentPolicy = Object.freeze({ deny: [], allow: [] });

export function userAgentAllowed(userAgent: string, policy: UserAgentPolicy): boolean {
  const ua = userAgent.toLowerCase();
  if (policy.allow.some((p) => ua.includes(p.toLowerCase()))) return true;
  return !policy.deny.some((p) => ua.includes(p.toLowerCase()));
}

/** Refuse to send a user agent the BSV node would ban us for. */
export function assertSendableUserAgent(userAgent: string): void {
  if (!userAgentAllowed(userAgent, DEFAULT_UA_POLICY)) {
    throw new RangeError(`user agent ${JSON.stringify(userAgent)} contains abc, cash or bch: BSV nodes ban it`);
  }
  if (Buffer.byteLength(userAgent, 'latin1') > 256) throw new RangeError('user agent longer than 256 bytes');
}

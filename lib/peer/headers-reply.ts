import type { BlockHeader } from '../messages/block-header.js';
import { blockHash } from '../messages/block-header.js';

/**
 * Whether a `headers` message can be the reply to getheaders(locator, stop). The peer answers with the
 * headers after the first locator hash it has on its best chain, so a reply's first header builds on a
 * locator hash; with an empty locator it is the stop header alone. An empty message is a reply ("nothing
 * after your locator"); announcements are never empty. A header announced through sendheaders builds on
 * the announcer's tip, which is not in the locator unless it is our own tip, in which case the
 * announcement holds what the reply would. A peer that knows none of the locator hashes starts from its
 * genesis, so a reply may also build on `genesis` (wire order) when given.
 */
export function isHeadersReply(locator: readonly Buffer[] | ReadonlySet<string>, stop: Buffer, headers: readonly BlockHeader[], genesis?: Buffer): boolean {
  if (headers.length === 0) return true;
  const first = headers[0]!;
  if (genesis && first.prevBlock.equals(genesis) && (locator instanceof Set ? locator.size : (locator as readonly Buffer[]).length) > 0) return true;
  const size = locator instanceof Set ? locator.size : (locator as readonly Buffer[]).length;
  if (size === 0) return headers.length === 1 && blockHash(first).equals(stop);
  if (locator instanceof Set) return locator.has(first.prevBlock.toString('hex'));
  return (locator as readonly Buffer[]).some((h) => h.equals(first.prevBlock));
}

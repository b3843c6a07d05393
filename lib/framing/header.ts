// Header layout facts shared by the encoder and the decoder (PROTOCOL.md §2.1, §2.2).

/** Legacy header: magic(4) command(12) length(4) checksum(4). */
export const HEADER_SIZE = 24;
/** extmsg header: the legacy header, then ext command(12) and ext length(u64). */
export const EXTENDED_HEADER_SIZE = 44;
export const MAGIC_SIZE = 4;
export const COMMAND_SIZE = 12;
export const CHECKSUM_SIZE = 4;
/** The command that announces an extended header. */
export const EXTMSG_COMMAND = 'extmsg';
/** The largest payload a legacy header can declare; above it the extmsg header is needed. */
export const MAX_LEGACY_PAYLOAD_LENGTH = 0xffff_ffff;
/** sha256d of the empty payload, first 4 bytes. */
export const EMPTY_PAYLOAD_CHECKSUM: Buffer = Buffer.from('5df6e0e2', 'hex');

function isPrintable(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e;
}

/**
 * Parse a 12-byte command field by the node's CheckCommandFormat rule: printable ASCII
 * up to the first NUL, and only NULs after it. Returns undefined when the rule fails.
 * (An all-NUL field passes, as in the node, and names the empty command.)
 */
export function parseCommandField(field: Buffer): string | undefined {
  let end = field.indexOf(0);
  if (end === -1) end = field.length;
  for (let i = 0; i < end; i++) if (!isPrintable(field[i])) return undefined;
  for (let i = end; i < field.length; i++) if (field[i] !== 0) return undefined;
  return field.toString('latin1', 0, end);
}

/**
 * A name for a command field in error messages: its text when it is printable ASCII
 * (trailing NULs dropped), otherwise `0x` and the hex of the field without trailing NULs.
 */
export function describeCommandField(field: Buffer): string {
  let end = field.length;
  while (end > 0 && field[end - 1] === 0) end--;
  let printable = true;
  for (let i = 0; i < end; i++) if (!isPrintable(field[i])) printable = false;
  return printable ? field.toString('latin1', 0, end) : `0x${field.toString('hex', 0, end)}`;
}

/** True when `command` can be sent: 1 to 12 printable ASCII characters. */
export function isValidCommand(command: string): boolean {
  if (command.length < 1 || command.length > COMMAND_SIZE) return false;
  for (let i = 0; i < command.length; i++) if (!isPrintable(command.charCodeAt(i))) return false;
  return true;
}

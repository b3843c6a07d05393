/** Why a payload could not be decoded. */
export type DecodeReason =
  | 'truncated'
  | 'too-large'
  | 'non-canonical'
  | 'invalid-value'
  | 'trailing-bytes';

/** A payload that does not match its command's layout. Names the command and the field. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly command: string,
    readonly field: string,
    readonly reason: DecodeReason,
    readonly detail?: string,
  ) {
    super(`${command}: ${field}: ${reason}${detail ? ` (${detail})` : ''}`);
  }

  /** The same error for a part read inside a larger field: `prefix.field`. */
  within(prefix: string): DecodeError {
    return new DecodeError(this.command, `${prefix}.${this.field}`, this.reason, this.detail);
  }
}

/** Why a frame header or frame was refused. */
export type FramingReason =
  | 'bad-magic'
  | 'bad-command'
  | 'oversized'
  | 'bad-checksum'
  | 'extmsg-not-allowed'
  | 'bad-extmsg';

/** A frame-level violation, found before the payload is read or allocated where possible. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
  constructor(
    readonly command: string,
    readonly reason: FramingReason,
    detail?: string,
  ) {
    super(`frame ${JSON.stringify(command)}: ${reason}${detail ? ` (${detail})` : ''}`);
  }
}

/** A message that cannot be encoded as asked (value out of range, too large for the peer). */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  constructor(
    readonly command: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${command}: ${field}: ${detail}`);
  }
}

// Typed error for malformed Wayland wire data, with a stable machine-readable code.

export type ProtocolErrorCode =
  | 'BAD_MESSAGE_SIZE'
  | 'UNKNOWN_OPCODE'
  | 'TRUNCATED_ARGUMENT'
  | 'TRAILING_BYTES'
  | 'STRING_NOT_TERMINATED'
  | 'NULL_STRING'
  | 'NULL_OBJECT'
  | 'NULL_NEW_ID'
  | 'MISSING_FD'
  | 'TOO_MANY_FDS'
  | 'BAD_ARGUMENT'
  | 'UNKNOWN_OBJECT'
  | 'UNKNOWN_INTERFACE'
  | 'BAD_VERSION'
  | 'BAD_NEW_ID';

/** The error a conforming compositor posts for a request it refuses: on `objectId`, the XML entry `iface.entry`. */
export interface PostedError {
  objectId: number;
  entry: string;
}

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, readonly posted?: PostedError) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

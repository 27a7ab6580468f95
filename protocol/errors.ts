/**
 * Named errors shared by every side. A code is stable and machine-readable;
 * the message is for a person and says what to do.
 */
export const ErrorCode = {
  // signaling (relay <-> client)
  Malformed: 'E_MALFORMED',
  TooLarge: 'E_TOO_LARGE',
  UnknownType: 'E_UNKNOWN_TYPE',
  BadVersion: 'E_BAD_VERSION',
  RoomNotFound: 'E_ROOM_NOT_FOUND',
  RoomExists: 'E_ROOM_EXISTS',
  RoomClosed: 'E_ROOM_CLOSED',
  NotInRoom: 'E_NOT_IN_ROOM',
  PeerNotFound: 'E_PEER_NOT_FOUND',
  RateLimited: 'E_RATE_LIMITED',
  RoomFull: 'E_ROOM_FULL',
  // invite codes
  InviteMalformed: 'E_INVITE_MALFORMED',
  InviteVersion: 'E_INVITE_VERSION',
  InviteChecksum: 'E_INVITE_CHECKSUM',
  // peer frames and session commands
  BadFrame: 'E_BAD_FRAME',
  UnknownPane: 'E_UNKNOWN_PANE',
  UnknownWindow: 'E_UNKNOWN_WINDOW',
  BadCommand: 'E_BAD_COMMAND',
  Forbidden: 'E_FORBIDDEN',
  // trust
  SignalForged: 'E_SIGNAL_FORGED',
  SignalReplayed: 'E_SIGNAL_REPLAYED',
  HandshakeFailed: 'E_HANDSHAKE_FAILED',
  Denied: 'E_DENIED',
  ApprovalTimeout: 'E_APPROVAL_TIMEOUT',
  Kicked: 'E_KICKED',
  Idle: 'E_IDLE',
  TooManyConnections: 'E_TOO_MANY_CONNECTIONS',
  RoomExpired: 'E_ROOM_EXPIRED',
  // connection
  ConnectFailed: 'E_CONNECT_FAILED',
  RelayUnreachable: 'E_RELAY_UNREACHABLE',
  Disconnected: 'E_DISCONNECTED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class PairmuxError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'PairmuxError';
    this.code = code;
  }
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isPairmuxError(e: unknown): e is PairmuxError {
  return e instanceof PairmuxError;
}

// The guest↔host channel protocol: frame kinds, limits and frame shapes (see docs/channel-protocol.md).

export const CHANNEL_MAGIC = 'WAYVIO\r\n';
export const CHANNEL_VERSION = 1;
export const FRAME_HEADER_SIZE = 12;
/** Smallest max-frame-size a peer may announce; guarantees room for any Wayland message. */
export const MIN_MAX_FRAME_SIZE = 8192;
/** Largest max-frame-size a peer may announce. */
export const MAX_MAX_FRAME_SIZE = 16 * 1024 * 1024;
export const DEFAULT_MAX_FRAME_SIZE = 256 * 1024;
/** Resource ids allocated by the host have this bit set; the guest's do not. */
export const HOST_RESOURCE_BIT = 0x80000000;
/** Most fds one WAYLAND frame may reference (libwayland's 28 per sendmsg, times a margin for batched messages). */
export const MAX_FDS_PER_FRAME = 255;
export const MAX_STRING_BYTES = 4096;

export enum FrameKind {
  Hello = 0x01,
  Goodbye = 0x02,
  Open = 0x10,
  Close = 0x11,
  Wayland = 0x12,
  ShmCreate = 0x20,
  ShmResize = 0x21,
  ResWrite = 0x22,
  ShmRef = 0x23,
  ResDrop = 0x24,
  ResWriteRect = 0x25,
  FileCreate = 0x30,
  PipeOpen = 0x40,
  PipeData = 0x41,
  PipeClose = 0x42,
  Credit = 0x43,
}

export enum Capability {
  /** The sender can place shm pools in a shared-memory region (SHM_REF frames). */
  SharedMemory = 1 << 0,
}

export enum CloseCode {
  Normal = 0,
  ProtocolError = 1,
  QuotaExceeded = 2,
  CompositorGone = 3,
  PolicyDenied = 4,
  InternalError = 5,
}

export enum PipeMode {
  /** The receiver hands on a write end; data flows from the receiver's side back to the sender. */
  WriteEnd = 0,
  /** The receiver hands on a read end; data flows from the sender to the receiver. */
  ReadEnd = 1,
}

export const FILE_SEALED = 1;

export interface HelloFrame { kind: FrameKind.Hello; conn: 0; minVersion: number; maxVersion: number; capabilities: number; maxFrameSize: number; shmRegionSize: number; software: string }
export interface GoodbyeFrame { kind: FrameKind.Goodbye; conn: 0; code: number; reason: string }
export interface OpenFrame { kind: FrameKind.Open; conn: number; description: string }
export interface CloseFrame { kind: FrameKind.Close; conn: number; code: number; reason: string }
export interface WaylandFrame { kind: FrameKind.Wayland; conn: number; resources: number[]; data: Uint8Array }
export interface ShmCreateFrame { kind: FrameKind.ShmCreate; conn: number; resource: number; size: number }
export interface ShmResizeFrame { kind: FrameKind.ShmResize; conn: number; resource: number; size: number }
export interface ResWriteFrame { kind: FrameKind.ResWrite; conn: number; resource: number; offset: number; data: Uint8Array }
export interface ResWriteRectFrame { kind: FrameKind.ResWriteRect; conn: number; resource: number; offset: number; stride: number; rowBytes: number; rows: number; data: Uint8Array }
export interface ShmRefFrame { kind: FrameKind.ShmRef; conn: number; resource: number; regionOffset: number; size: number }
export interface ResDropFrame { kind: FrameKind.ResDrop; conn: number; resource: number }
export interface FileCreateFrame { kind: FrameKind.FileCreate; conn: number; resource: number; flags: number; size: number }
export interface PipeOpenFrame { kind: FrameKind.PipeOpen; conn: number; resource: number; mode: PipeMode }
export interface PipeDataFrame { kind: FrameKind.PipeData; conn: number; resource: number; data: Uint8Array }
export interface PipeCloseFrame { kind: FrameKind.PipeClose; conn: number; resource: number }
export interface CreditFrame { kind: FrameKind.Credit; conn: number; resource: number; bytes: number }

export type Frame =
  | HelloFrame | GoodbyeFrame | OpenFrame | CloseFrame | WaylandFrame
  | ShmCreateFrame | ShmResizeFrame | ResWriteFrame | ResWriteRectFrame | ShmRefFrame | ResDropFrame
  | FileCreateFrame | PipeOpenFrame | PipeDataFrame | PipeCloseFrame | CreditFrame;

export type ChannelErrorCode =
  | 'FRAME_TOO_SMALL'
  | 'FRAME_TOO_LARGE'
  | 'UNKNOWN_FRAME_KIND'
  | 'BAD_RESERVED'
  | 'BAD_CONNECTION_ID'
  | 'BAD_PAYLOAD_SIZE'
  | 'BAD_STRING'
  | 'BAD_MAGIC'
  | 'BAD_VALUE'
  | 'TOO_MANY_FDS';

export class ChannelError extends Error {
  readonly code: ChannelErrorCode;

  constructor(code: ChannelErrorCode, message: string) {
    super(message);
    this.name = 'ChannelError';
    this.code = code;
  }
}

// Reads a Wayland socket into whole messages for one handler: the byte intake both kinds of client connection share.
import type { FdSocket } from '../transport/fd-socket';
import { closeAll } from '../transport/fds';
import { MessageBuffer, type RawMessage } from '../protocol/message-buffer';

export interface IntakeHandler {
  /** One whole message; the fds that came with the bytes so far are at the front of intake.fds. */
  message(m: RawMessage): void;
  /** Bytes no message has, too many fds, or what message() threw: the connection cannot go on. */
  failed(e: unknown): void;
  /** After the messages of one read, unless it failed. */
  read(): void;
  isClosed(): boolean;
}

export class WaylandIntake {
  private readonly buffer = new MessageBuffer();

  constructor(socket: FdSocket, private readonly handler: IntakeHandler) {
    socket.readTarget = () => this.buffer.freeSpace();
    socket.on('data', (bytes: Buffer, fds: number[]) => this.onData(bytes, fds));
  }

  /** fds received and not yet taken by a message. */
  get fds(): number[] {
    return this.buffer.fds;
  }

  /** The fds no message took (the connection is ending: the caller closes them). */
  takeFds(): number[] {
    return this.buffer.takeFds();
  }

  private onData(bytes: Uint8Array, fds: number[]): void {
    if (this.handler.isClosed()) {
      closeAll(fds);
      return;
    }
    try {
      this.buffer.push(bytes, fds);
    } catch (e) {
      closeAll(fds); // push() refused them (too many queued): nobody else will close them
      this.handler.failed(e);
      return;
    }
    try {
      for (let m = this.buffer.next(); m !== null && !this.handler.isClosed(); m = this.buffer.next()) this.handler.message(m);
    } catch (e) {
      this.handler.failed(e);
      return;
    }
    this.handler.read();
  }
}

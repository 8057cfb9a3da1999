// A pointer for headless sway (which has no input devices): a zwlr_virtual_pointer_v1 that moves and clicks.
import { RawClient } from '../helpers/raw-client';

/** The requests of wlr-virtual-pointer-unstable-v1 in protocol order (only their signatures: what we send). */
const VIRTUAL_POINTER_XML = `<?xml version="1.0" encoding="UTF-8"?>
<protocol name="wlr_virtual_pointer_unstable_v1">
  <interface name="zwlr_virtual_pointer_v1" version="1">
    <request name="motion"><arg name="time" type="uint"/><arg name="dx" type="fixed"/><arg name="dy" type="fixed"/></request>
    <request name="motion_absolute"><arg name="time" type="uint"/><arg name="x" type="uint"/><arg name="y" type="uint"/>
      <arg name="x_extent" type="uint"/><arg name="y_extent" type="uint"/></request>
    <request name="button"><arg name="time" type="uint"/><arg name="button" type="uint"/><arg name="state" type="uint"/></request>
    <request name="axis"><arg name="time" type="uint"/><arg name="axis" type="uint"/><arg name="value" type="fixed"/></request>
    <request name="frame"/>
    <request name="axis_source"><arg name="axis_source" type="uint"/></request>
    <request name="axis_stop"><arg name="time" type="uint"/><arg name="axis" type="uint"/></request>
    <request name="axis_discrete"><arg name="time" type="uint"/><arg name="axis" type="uint"/><arg name="value" type="fixed"/>
      <arg name="discrete" type="int"/></request>
    <request name="destroy" type="destructor"/>
  </interface>
  <interface name="zwlr_virtual_pointer_manager_v1" version="1">
    <request name="create_virtual_pointer"><arg name="seat" type="object" interface="wl_seat" allow-null="true"/>
      <arg name="id" type="new_id" interface="zwlr_virtual_pointer_v1"/></request>
  </interface>
</protocol>
`;

/** Linux input button codes (linux/input-event-codes.h). */
const BUTTONS = { 1: 0x110, 2: 0x112, 3: 0x111 } as const;

export class VirtualPointer {
  private constructor(
    private readonly client: RawClient,
    private readonly pointer: number,
    private readonly width: number,
    private readonly height: number,
  ) {}

  /** Connects to the compositor at `socketPath` (whose output layout is width x height) and makes the pointer. */
  static async create(socketPath: string, width: number, height: number): Promise<VirtualPointer> {
    const client = new RawClient(socketPath);
    client.registry.loadXmlText(VIRTUAL_POINTER_XML, 'wlr-virtual-pointer (real-apps)');
    const reg = await client.getRegistry();
    if (!client.globals.has('zwlr_virtual_pointer_manager_v1')) {
      client.close();
      throw new Error('the compositor offers no zwlr_virtual_pointer_manager_v1');
    }
    const manager = client.bind(reg, 'zwlr_virtual_pointer_manager_v1', 1);
    const pointer = client.send(manager, 'create_virtual_pointer', [0, 0]);
    await client.roundtrip();
    if (client.error() !== undefined || client.closed) throw new Error(`virtual pointer refused: ${JSON.stringify(client.error()?.args)}`);
    return new VirtualPointer(client, pointer, width, height);
  }

  private now(): number {
    return Date.now() >>> 0;
  }

  async moveTo(x: number, y: number): Promise<void> {
    const cx = Math.max(0, Math.min(this.width - 1, Math.round(x)));
    const cy = Math.max(0, Math.min(this.height - 1, Math.round(y)));
    this.client.send(this.pointer, 'motion_absolute', [this.now(), cx, cy, this.width, this.height]);
    this.client.send(this.pointer, 'frame', []);
    await this.client.roundtrip();
  }

  async button(button: 1 | 2 | 3, pressed: boolean): Promise<void> {
    this.client.send(this.pointer, 'button', [this.now(), BUTTONS[button], pressed ? 1 : 0]);
    this.client.send(this.pointer, 'frame', []);
    await this.client.roundtrip();
  }

  close(): void {
    this.client.close();
  }
}

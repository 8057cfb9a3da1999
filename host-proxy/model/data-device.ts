// wl_data_source and wl_data_offer requests checked by the host: drag-and-drop action masks, and sources and offers used for what they are not.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';
import type { FamilyChecker } from './checker';

/** wl_data_device_manager.dnd_action: copy 1, move 2, ask 4. */
const ALL_ACTIONS = 7;

/**
 * A source is for drag-and-drop once it has actions, for the selection once set_selection took it; an offer is
 * a drag's once wl_data_device.enter named it, the selection's once wl_data_device.selection did. Only what is
 * known is refused: an offer neither event named yet goes on to the compositor, which checks it too.
 */
export class DataDevice implements FamilyChecker {
  /** wl_data_source ids that got set_actions. */
  private readonly dndSources = new Set<number>();
  /** wl_data_source ids start_drag or set_selection used: set_actions comes too late for them. */
  private readonly usedSources = new Set<number>();
  /** wl_data_offer ids the compositor sent as the selection. */
  private readonly selectionOffers = new Set<number>();

  request(name: string, id: number, args: readonly ArgValue[]): void {
    switch (name) {
      case 'wl_data_source.set_actions': {
        const actions = args[0] as number;
        if ((actions & ~ALL_ACTIONS) !== 0) refuse(name, id, `action mask 0x${actions.toString(16)} has bits outside copy|move|ask`, 'wl_data_source.invalid_action_mask');
        if (this.usedSources.has(id)) refuse(name, id, 'the source was already used for a drag or the selection: actions must come before start_drag', 'wl_data_source.invalid_source');
        this.dndSources.add(id);
        break;
      }
      case 'wl_data_device.set_selection': {
        const source = args[0] as number | null;
        if (source === null || source === 0) break;
        if (this.dndSources.has(source)) refuse(name, id, `wl_data_source#${source} has drag-and-drop actions, so it cannot be the selection`, 'wl_data_source.invalid_source', source);
        this.usedSources.add(source);
        break;
      }
      case 'wl_data_device.start_drag': {
        const source = args[0] as number | null;
        if (source !== null && source !== 0) this.usedSources.add(source);
        break;
      }
      case 'wl_data_source.destroy':
        this.dndSources.delete(id);
        this.usedSources.delete(id);
        break;
      case 'wl_data_offer.set_actions': {
        const [actions, preferred] = args as number[];
        if ((actions & ~ALL_ACTIONS) !== 0) refuse(name, id, `action mask 0x${actions.toString(16)} has bits outside copy|move|ask`, 'wl_data_offer.invalid_action_mask');
        if (preferred !== 0 && ((preferred & ~actions) !== 0 || (preferred & (preferred - 1)) !== 0)) {
          refuse(name, id, `preferred action 0x${preferred.toString(16)} is not one action of the mask 0x${actions.toString(16)}`, 'wl_data_offer.invalid_action');
        }
        if (this.selectionOffers.has(id)) refuse(name, id, 'the offer is the selection, not a drag', 'wl_data_offer.invalid_offer');
        break;
      }
      case 'wl_data_offer.finish':
        if (this.selectionOffers.has(id)) refuse(name, id, 'the offer is the selection, not a drag', 'wl_data_offer.invalid_finish');
        break;
      case 'wl_data_offer.destroy':
        this.selectionOffers.delete(id);
        break;
      default:
        break;
    }
  }

  event(name: string, _id: number, args: readonly ArgValue[]): void {
    if (name === 'wl_data_device.selection' && args[0] !== null && args[0] !== 0) this.selectionOffers.add(args[0] as number);
  }
}

function refuse(request: string, id: number, why: string, xmlError: string, on = id): never {
  const [iface, req] = request.split('.');
  throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${req}: ${why} (${xmlError})`, { objectId: on, entry: xmlError });
}

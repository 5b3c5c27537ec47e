/** ChannelRoom: one per text channel, DM and ticket. (Being built: see issue "Real-time text chat".) */
import { Server } from "partyserver";

export class ChannelRoom extends Server<Env> {
  static override options = { hibernate: true };
}

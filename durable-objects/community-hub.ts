/** CommunityHub: one per community. (Being built: see issue "Communities".) */
import { Server } from "partyserver";

export class CommunityHub extends Server<Env> {
  static override options = { hibernate: true };
}

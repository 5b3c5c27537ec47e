/** A window event the shortcuts send: Esc asks the open channel's list to mark it read. */
export const MARK_READ_EVENT = "woxly:mark-read";
export interface MarkReadDetail {
  channelId: string;
}

import type { Message } from "../../workers/shared/chat";

export function webSocketWithHeaders(headers: Record<string, string>): new (url: string, protocols?: string | string[]) => unknown;
export function fetchHistory(
  baseUrl: string,
  channelId: string,
  cookie: string,
  opts?: { after?: number },
): Promise<{ messages: Message[]; headSeq: number }>;

/** What the chaos test reads of the web app's ChannelCore (web/src/lib/realtime/channel.ts). */
export interface ChannelCoreView {
  readonly state: { readonly messages: readonly Message[]; readonly hasBefore: boolean; readonly connection: string; readonly pending: readonly unknown[] };
  readonly appliedSeq: number | null;
}

export function loadChannelCore(): Promise<unknown>;

export interface ViewEntry {
  seq: number;
  type: string;
  id: string | null;
  /** Resyncs before this event: the stream restarts from a history page at each. */
  epoch: number;
}
export interface Anomaly {
  kind: "gap" | "duplicate";
  seq: number;
  expected: number;
}

export function openChat(o: {
  baseUrl: string;
  channelId: string;
  userId: string;
  cookie: string;
  onMessage?: (message: Message) => void;
  recordView?: boolean;
  windowLimit?: number;
  socketOptions?: Record<string, unknown>;
}): Promise<ChatClient>;

export interface ChatClient {
  readonly core: ChannelCoreView;
  /** The room has answered `hello`; sends go out. */
  readonly live: boolean;
  /** Seq the core has applied up to; null before its first history page. */
  readonly lastSeq: number | null;
  /** Sends not acknowledged yet. */
  readonly unacked: number;
  view: ViewEntry[];
  anomalies: Anomaly[];
  acked: Map<string, Message>;
  resumeOverlap: number;
  /** `events` frames received (several events coalesced into one frame by a busy room). */
  batches: number;
  connects: number;
  resumes: number;
  resyncs: number;
  errors: { code: string; ref: string | null; message: string }[];
  whenLive(): Promise<void>;
  send(content: string): Promise<Message>;
  reconnect(): Promise<void>;
  close(): void;
}

import type { Message, ServerFrame } from "../../workers/shared/chat";

export function webSocketWithHeaders(headers: Record<string, string>): new (url: string, protocols?: string | string[]) => unknown;
export function fetchHistory(
  baseUrl: string,
  channelId: string,
  cookie: string,
  opts?: { after?: number },
): Promise<{ messages: Message[]; headSeq: number }>;
export function newNonce(): string;

export interface ViewEntry {
  seq: number;
  type: string;
  id: string | null;
  fromHistory?: boolean;
}
export interface Anomaly {
  kind: "gap" | "duplicate" | "reset";
  seq: number;
  expected: number | null;
}
export type ChannelEventFrame = Extract<ServerFrame, { seq: number }> & { fromHistory?: boolean };

export class ChatClient {
  constructor(o: {
    baseUrl: string;
    channelId: string;
    cookie: string;
    onEvent?: (event: ChannelEventFrame) => void;
    recordView?: boolean;
    socketOptions?: Record<string, unknown>;
  });
  readonly baseUrl: string;
  readonly channelId: string;
  /** Last seq applied; null until the first `ready`. */
  lastSeq: number | null;
  /** headSeq of the first `ready`: the view starts after it. */
  startSeq: number | undefined;
  view: ViewEntry[];
  anomalies: Anomaly[];
  pending: Map<string, { content: string; sentAt: number; transmissions?: number; rateLimited?: number }>;
  acked: Map<string, Message>;
  resumeOverlap: number;
  /** `events` frames received (several events coalesced into one frame by a busy room). */
  batches: number;
  live: boolean;
  connects: number;
  resumes: number;
  resyncs: number;
  errors: { code: string; ref: string | null; message: string }[];
  whenLive(): Promise<void>;
  send(content: string, nonce?: string): Promise<Message>;
  reconnect(): Promise<void>;
  close(): void;
}

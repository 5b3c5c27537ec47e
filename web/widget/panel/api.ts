/**
 * The visitor API (docs/support-desk.md, "Visitor") as the panel calls it: same-origin fetch
 * with the visitor token as `Authorization: Bearer`, JSON bodies, every answer parsed with the
 * shared zod schema (workers/shared/desk.ts, chat.ts) and every failure thrown as the web app's
 * `ApiRequestError` (code and status from the server's `{ error }` body).
 */
import { z } from "zod";
import { Attachment, HistoryPage } from "$shared/chat";
import { ErrorBody } from "$shared/protocol";
import {
  AssistantAnswer,
  FileLinks,
  RequestHumanAnswer,
  SocketTickets,
  TicketCallToken,
  VisitorSession,
  WidgetConfig,
  WidgetState,
  type DeskLanguage,
  type VisitorContext,
} from "$shared/desk";
import { ApiRequestError } from "$lib/api";
import type { HistoryAt } from "$lib/realtime/channel";

type Fetch = typeof fetch;

const UploadAnswer = z.object({ attachment: Attachment });

async function failure(res: Response): Promise<ApiRequestError> {
  let raw: unknown;
  try {
    raw = await res.json();
  } catch {
    raw = undefined;
  }
  const parsed = ErrorBody.safeParse(raw);
  if (parsed.success) return new ApiRequestError(parsed.data.error.code, parsed.data.error.message, res.status);
  const code = res.status === 429 ? "rate_limited" : res.status === 401 ? "unauthorized" : res.status === 404 ? "not_found" : "bad_response";
  return new ApiRequestError(code, `HTTP ${res.status}`, res.status);
}

export class WidgetApi {
  readonly deskId: string;
  readonly #token: () => string | null;
  readonly #fetch: Fetch;

  /** `token` reads the visitor token now (it appears after `startVisitor`). */
  constructor(deskId: string, token: () => string | null, fetchImpl: Fetch = (...a) => fetch(...a)) {
    this.deskId = deskId;
    this.#token = token;
    this.#fetch = fetchImpl;
  }

  async #send(method: "GET" | "POST", path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = this.#token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (method === "POST") headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.#fetch(path, { method, headers, body: method === "POST" ? JSON.stringify(body ?? {}) : undefined, credentials: "omit" });
    } catch {
      throw new ApiRequestError("network_error", "network error", 0);
    }
    if (!res.ok) throw await failure(res);
    return res;
  }

  async #json<T>(method: "GET" | "POST", path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const res = await this.#send(method, path, body);
    let raw: unknown;
    try {
      raw = await res.json();
    } catch {
      throw new ApiRequestError("bad_response", "response is not JSON", res.status);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new ApiRequestError("bad_response", "unexpected response shape", res.status);
    return parsed.data;
  }

  config(): Promise<WidgetConfig> {
    return this.#json("GET", `/api/widget/desks/${encodeURIComponent(this.deskId)}`, WidgetConfig);
  }
  startVisitor(context: VisitorContext): Promise<VisitorSession> {
    return this.#json("POST", `/api/widget/desks/${encodeURIComponent(this.deskId)}/visitors`, VisitorSession, { context });
  }
  me(): Promise<WidgetState> {
    return this.#json("GET", "/api/widget/me", WidgetState);
  }
  history(at: HistoryAt): Promise<HistoryPage> {
    const q = new URLSearchParams(Object.entries(at).map(([k, v]) => [k, String(v)]));
    return this.#json("GET", `/api/widget/history${q.size ? `?${q}` : ""}`, HistoryPage);
  }
  ask(question: string, language: DeskLanguage): Promise<AssistantAnswer> {
    return this.#json("POST", "/api/widget/ask", AssistantAnswer, { question, language });
  }
  /** "Talk to a manager": queued only when someone can answer now, else told to leave a message. */
  requestHuman(language: DeskLanguage): Promise<RequestHumanAnswer> {
    return this.#json("POST", "/api/widget/request-human", RequestHumanAnswer, { language, whenAvailable: true });
  }
  async leaveMessage(email: string, message: string): Promise<void> {
    await this.#send("POST", "/api/widget/leave-message", { email, message });
  }
  async close(): Promise<void> {
    await this.#send("POST", "/api/widget/close", {});
  }
  async rate(rating: number, comment?: string): Promise<void> {
    await this.#send("POST", "/api/widget/rate", comment ? { rating, comment } : { rating });
  }
  sockets(): Promise<SocketTickets> {
    return this.#json("POST", "/api/widget/sockets", SocketTickets, {});
  }
  /** Links opening these attachments of the visitor's ticket (signed, short-lived). */
  fileLinks(ids: string[]): Promise<FileLinks> {
    return this.#json("POST", "/api/widget/file-links", FileLinks, { ids });
  }
  /**
   * Uploads one file to the visitor's ticket (raw body, POST /api/uploads/widget); `onprogress`
   * gets 0–1 (XMLHttpRequest: fetch reports no upload progress). Rejects with ApiRequestError
   * (`aborted` when `signal` aborts).
   */
  upload(file: File, onprogress: (fraction: number) => void, signal?: AbortSignal): Promise<Attachment> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      const name = (file.name || "file").slice(0, 255);
      xhr.open("POST", `/api/uploads/widget?${new URLSearchParams({ filename: name })}`);
      const token = this.#token();
      if (token) xhr.setRequestHeader("authorization", `Bearer ${token}`);
      xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
      xhr.setRequestHeader("accept", "application/json");
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onprogress(e.loaded / e.total);
      };
      xhr.onload = () => {
        let body: unknown = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // not JSON: the status decides below
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          const ok = UploadAnswer.safeParse(body);
          if (ok.success) resolve(ok.data.attachment);
          else reject(new ApiRequestError("bad_response", "unexpected response shape", xhr.status));
          return;
        }
        const err = ErrorBody.safeParse(body);
        if (err.success) reject(new ApiRequestError(err.data.error.code, err.data.error.message, xhr.status));
        else reject(new ApiRequestError(xhr.status === 413 ? "payload_too_large" : xhr.status === 429 ? "rate_limited" : "upload_failed", `HTTP ${xhr.status}`, xhr.status));
      };
      xhr.onerror = () => reject(new ApiRequestError("network_error", "network error", 0));
      xhr.onabort = () => reject(new ApiRequestError("aborted", "aborted", 0));
      signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.send(file);
    });
  }
  callToken(): Promise<TicketCallToken> {
    return this.#json("POST", "/api/widget/call-token", TicketCallToken, {});
  }
}

/**
 * Attachment uploads: the raw file POSTed to the typed client's uploads route, with progress
 * (XMLHttpRequest, since fetch reports none for uploads). Each answers with the stored
 * Attachment, whose id goes into `message.send`.
 */
import type { InferResponseType } from "hono/client";
import { z } from "zod";
import { Attachment } from "$shared/chat";
import { ErrorBody } from "$shared/protocol";
import { client } from "$lib/api";

const route = client.uploads.channels[":id"].attachments;
const UploadResponse = z.object({ attachment: Attachment });
// The route's answer must pass UploadResponse: a drift fails `npm run check`.
type Fits<T extends true> = T;
export type UploadAnswerFits = Fits<InferResponseType<typeof route.$post, 201> extends z.infer<typeof UploadResponse> ? true : false>;

export class UploadError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
  ) {
    super(code);
  }
}

/** Uploads one file; `onprogress` gets 0–1. Rejects with UploadError (code `aborted` on abort). */
export function uploadAttachment(channelId: string, file: File, onprogress: (fraction: number) => void, signal?: AbortSignal): Promise<Attachment> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const name = file.name || "file";
    xhr.open("POST", route.$path({ param: { id: channelId }, query: { filename: name.slice(0, 255) } }));
    xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
    xhr.setRequestHeader("accept", "application/json");
    xhr.withCredentials = true;
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
        const parsed = UploadResponse.safeParse(body);
        if (parsed.success) resolve(parsed.data.attachment);
        else reject(new UploadError("bad_response", xhr.status));
        return;
      }
      const err = ErrorBody.safeParse(body);
      reject(new UploadError(err.success ? err.data.error.code : xhr.status === 413 ? "payload_too_large" : "upload_failed", xhr.status));
    };
    xhr.onerror = () => reject(new UploadError("network_error", 0));
    xhr.onabort = () => reject(new UploadError("aborted", 0));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

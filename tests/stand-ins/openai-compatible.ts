/**
 * A STAND-IN for an outside OpenAI-compatible service (`POST /v1/chat/completions`), for
 * tests/desk-assistant.test.ts only: a small Node HTTP server on 127.0.0.1, started by vitest's
 * globalSetup (vitest.config.ts), whose URL reaches the tests through `inject("openAiStandInUrl")`.
 *
 * It answers per the protocol and records every request, which the tests read back from
 * `GET /__requests` to check what the assistant sent (the prompt must hold only the retrieved
 * entries). The `model` of a request picks its behaviour:
 * - `stand-in-echo`: answers "Stand-in answer from entry: <first entry's question>";
 * - `stand-in-no-answer`: answers NO_ANSWER (the entries do not hold the answer);
 * - `stand-in-fail`: HTTP 500;
 * - `stand-in-garbage`: 200 with a body that is not a chat completion;
 * - `stand-in-slow`: answers after 5 s (longer than the tests' ASSISTANT_TIMEOUT_MS).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    openAiStandInUrl: string;
  }
}

export interface RecordedRequest {
  path: string;
  authorization: string | null;
  body: { model?: string; messages?: { role: string; content: string }[] } | null;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function completion(content: string) {
  return { id: "chatcmpl-stand-in", object: "chat.completion", created: 0, model: "stand-in", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] };
}

export function startStandIn(): Promise<Server> {
  const recorded: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/__requests") return send(200, recorded);
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") return send(404, { error: { message: "not found" } });
    const raw = await readBody(req);
    let body: RecordedRequest["body"] = null;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(400, { error: { message: "invalid json" } });
    }
    recorded.push({ path: req.url, authorization: req.headers.authorization ?? null, body });
    const system = body?.messages?.find((m) => m.role === "system")?.content ?? "";
    switch (body?.model) {
      case "stand-in-echo": {
        const first = /\[1\] Q: (.*)/.exec(system)?.[1] ?? "?";
        return send(200, completion(`Stand-in answer from entry: ${first}`));
      }
      case "stand-in-no-answer":
        return send(200, completion("NO_ANSWER"));
      case "stand-in-garbage":
        return send(200, { hello: "world" });
      case "stand-in-slow":
        setTimeout(() => send(200, completion("too late")), 5000);
        return;
      default:
        return send(500, { error: { message: "stand-in failure" } });
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** vitest globalSetup: starts the stand-in and provides its base URL (`http://127.0.0.1:<port>/v1`). */
export default async function setup(project: TestProject) {
  const server = await startStandIn();
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("stand-in did not bind");
  project.provide("openAiStandInUrl", `http://127.0.0.1:${addr.port}/v1`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

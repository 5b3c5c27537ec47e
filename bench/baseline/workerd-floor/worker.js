// The runtime floor for the chat fan-out benchmark: the Socket.IO baseline's chat server
// (bench/baseline/server.mjs) written for the runtime Woxly runs on instead of Node. One
// Durable Object per room holding hibernatable WebSockets; on a message it stamps it,
// broadcasts it to the room's other sockets from memory and acknowledges the sender. It
// stores nothing, checks nothing and has no library in the path, so whatever it costs per
// message and per socket is what workerd itself costs — no chat server on workerd can
// deliver faster than this on the same machine. Woxly's own numbers are read against it.
//
// Runs under `wrangler dev -c bench/baseline/workerd-floor/wrangler.jsonc`; started and
// stopped by bench/chat-fanout/floor-target.mjs. Not part of the product.
//
// Socket:   GET /room/<name>?user=<id>   (Upgrade: websocket)
// Client →  {"content": string ≤ 4000, "nonce": string}
// Server →  {"type":"message","message":{…}} to the others, {"type":"ack","nonce","message"} to
//           the sender, {"type":"error","code"} for a bad frame (the socket stays open).
import { DurableObject } from "cloudflare:workers";

let nextId = 1;

export class FloorRoom extends DurableObject {
  async fetch(request) {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: { code: "upgrade_required", message: "WebSocket only." } }, { status: 426 });
    }
    const user = new URL(request.url).searchParams.get("user") ?? "anonymous";
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ user });
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, raw) {
    let payload;
    try {
      payload = JSON.parse(raw);
    } catch {
      ws.send(JSON.stringify({ type: "error", code: "invalid_json" }));
      return;
    }
    if (typeof payload?.content !== "string" || payload.content.length > 4000) {
      ws.send(JSON.stringify({ type: "error", code: "bad_message" }));
      return;
    }
    const message = {
      id: nextId++,
      authorId: ws.deserializeAttachment()?.user ?? null,
      content: payload.content,
      nonce: payload.nonce,
      createdAt: Date.now(),
    };
    const frame = JSON.stringify({ type: "message", message });
    for (const other of this.ctx.getWebSockets()) {
      if (other === ws) continue;
      try {
        other.send(frame);
      } catch {}
    }
    ws.send(JSON.stringify({ type: "ack", nonce: payload.nonce, message }));
  }

  webSocketClose(ws, code) {
    try {
      ws.close(code === 1005 ? 1000 : code);
    } catch {}
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/api/health") return Response.json({ ok: true });
    const m = /^\/room\/([\w-]{1,64})$/.exec(url.pathname);
    if (!m) return Response.json({ error: { code: "not_found", message: "No such route." } }, { status: 404 });
    return env.FLOOR.get(env.FLOOR.idFromName(m[1])).fetch(request);
  },
};

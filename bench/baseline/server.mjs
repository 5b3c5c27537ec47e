// The baseline for the chat fan-out benchmark: a plain Node + Socket.IO chat server, the stack
// of most chat tutorials. On "message" it stamps the message, broadcasts it to the other
// sockets of the room from memory and acknowledges the sender. It stores nothing: a restart
// loses everything, and a reconnecting client has no way to learn what it missed.
//
//   node bench/baseline/server.mjs --port 3100 [--host 127.0.0.1]
//
// Prints one JSON line `{"listening":true,"port":…,"pid":…}` on stdout once it accepts
// connections. GET /stats answers {rss, heapUsed, cpu:{user,system}, sockets} for the bench.
// Loopback only by default.
import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

export function startBaseline({ port = 0, host = "127.0.0.1" } = {}) {
  const httpServer = http.createServer((req, res) => {
    if (req.url === "/stats") {
      const m = process.memoryUsage();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, cpu: process.cpuUsage(), sockets: io.engine.clientsCount }));
      return;
    }
    // Socket.IO answers its own /socket.io/ path before this handler runs.
    res.statusCode = 404;
    res.end();
  });
  const io = new Server(httpServer, {
    // What a tutorial gets by default, except that the bench clients connect with the
    // WebSocket transport straight away (no long-polling upgrade dance), as Woxly's do.
    serveClient: false,
    maxHttpBufferSize: 64 * 1024,
  });

  let nextId = 1;
  io.on("connection", (socket) => {
    const room = String(socket.handshake.query.room ?? "general");
    const user = String(socket.handshake.query.user ?? socket.id);
    socket.join(room);
    socket.on("message", (payload, ack) => {
      if (!payload || typeof payload.content !== "string" || payload.content.length > 4000) {
        if (typeof ack === "function") ack({ ok: false, error: "bad_message" });
        return;
      }
      const message = {
        id: nextId++,
        room,
        authorId: user,
        content: payload.content,
        nonce: payload.nonce,
        createdAt: Date.now(),
      };
      socket.to(room).emit("message", message);
      if (typeof ack === "function") ack({ ok: true, message });
    });
  });

  return new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(port, host, () => {
      const addr = httpServer.address();
      resolve({
        port: typeof addr === "object" && addr ? addr.port : port,
        close: () => new Promise((r) => io.close(() => r())),
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "3100" }, host: { type: "string", default: "127.0.0.1" } },
  });
  const srv = await startBaseline({ port: Number(values.port), host: values.host });
  process.stdout.write(JSON.stringify({ listening: true, port: srv.port, pid: process.pid }) + "\n");
  const stop = () => srv.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

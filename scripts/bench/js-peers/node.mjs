// The five benchmark endpoints on node:http, as Node users write them.
// node node.mjs PORT
import http from "node:http";

const port = Number(process.argv[2] ?? 3000);
const json = (res, value) => {
  const body = JSON.stringify(value);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
};

http
  .createServer((req, res) => {
    const path = req.url.split("?", 1)[0];
    if (req.method === "GET" && path === "/hello") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end("Hello, world!");
    } else if (req.method === "GET" && path === "/json") {
      json(res, { message: "Hello, world!", server: "node" });
    } else if (req.method === "POST" && path === "/echo") {
      const chunks = [];
      req.on("data", (chunk) => chunks.push(chunk));
      req.on("end", () => {
        res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/octet-stream" });
        res.end(Buffer.concat(chunks));
      });
    } else if (req.method === "GET" && path === "/health") {
      json(res, { status: "ok" });
    } else if (req.method === "GET" && path.startsWith("/users/")) {
      json(res, { id: path.slice(7), name: "Ferry User" });
    } else {
      res.writeHead(404);
      res.end("not found");
    }
  })
  .listen(port, "127.0.0.1");

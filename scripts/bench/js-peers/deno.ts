// The five benchmark endpoints on Deno.serve.
// deno run --allow-net deno.ts PORT
const port = Number(Deno.args[0] ?? 3000);

Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (req) => {
  const path = new URL(req.url).pathname;
  if (req.method === "GET" && path === "/hello") {
    return new Response("Hello, world!", { headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  if (req.method === "GET" && path === "/json") {
    return Response.json({ message: "Hello, world!", server: "deno" });
  }
  if (req.method === "POST" && path === "/echo") {
    return new Response(await req.arrayBuffer(), {
      headers: { "content-type": req.headers.get("content-type") ?? "application/octet-stream" },
    });
  }
  if (req.method === "GET" && path === "/health") {
    return Response.json({ status: "ok" });
  }
  if (req.method === "GET" && path.startsWith("/users/")) {
    return Response.json({ id: path.slice(7), name: "Ferry User" });
  }
  return new Response("not found", { status: 404 });
});

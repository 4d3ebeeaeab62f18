// The five benchmark endpoints as a fetch-style handler (Request in, Response out), shared by
// the Deno and Bun servers. `server` names the runtime in the JSON answer.
export async function handle(req, server) {
  const path = new URL(req.url).pathname;
  if (req.method === "GET" && path === "/hello") {
    return new Response("Hello, world!", { headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  if (req.method === "GET" && path === "/json") {
    return Response.json({ message: "Hello, world!", server });
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
}

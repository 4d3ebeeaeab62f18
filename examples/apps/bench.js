// The five benchmark endpoints of Ferry's Rust example, as a script:
//   ferry run examples/apps/bench.js
// GET /hello, GET /json, POST /echo, GET /health, GET /users/:id

register("/hello", () => "Hello, world!");

register("/json", () => ({
  status: 200,
  body: JSON.stringify({ message: "Hello, world!", server: "ferry" }),
  contentType: "application/json",
}));

register(
  "/echo",
  (context) => ({
    status: 200,
    body: context.request.body ?? "",
    contentType: context.request.headers["content-type"] || "application/octet-stream",
  }),
  "POST",
);

register("/health", () => ResponseBuilder.json({ status: "ok" }));

register("/users/:id", (context) => ResponseBuilder.json({ id: context.request.params.id, name: "Ferry User" }));

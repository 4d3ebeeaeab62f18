// The server side of the SSE fan-out benchmark (crates/ferry-bench/examples/sse_fanout.rs):
//   ferry run scripts/bench/sse-fanout.js --sse-max-clients 2000
// Subscribers follow GET /stream; each POST /publish sends its body to all of them.

registerWebStream("/stream");

register("/publish", (context) => String(sendStreamMessageToPath("/stream", context.request.body ?? "")), "POST");

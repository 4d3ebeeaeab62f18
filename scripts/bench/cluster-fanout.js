// The server side of the cross-node delivery benchmark (scripts/bench/cluster_latency.sh):
// two nodes on one PostgreSQL run this; subscribers follow one node's /stream while
// messages are published on the other's /publish. /local keeps a second crowd of
// subscribers busy on the publishing node.

registerWebStream("/stream");
registerWebStream("/local");

register("/publish", (context) => String(sendStreamMessageToPath("/stream", context.request.body ?? "")), "POST");
register("/publish-local", (context) => String(sendStreamMessageToPath("/local", context.request.body ?? "")), "POST");

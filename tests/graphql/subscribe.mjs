// Subscribes to the chat example's `messages` with the real graphql-ws (WebSocket,
// graphql-transport-ws) and graphql-sse (distinct connections) clients, sends a message
// with a mutation, and prints what each client received as one JSON object.
//
//   node subscribe.mjs http://127.0.0.1:PORT/graphql

import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import WebSocket from "ws";

const [url] = process.argv.slice(2);
const subscription = "subscription { messages(room: \"e2e\") { room author text } }";

function firstEvent(client) {
  return new Promise((resolve, reject) => {
    const stop = client.subscribe(
      { query: subscription },
      {
        next: (result) => {
          resolve(result);
          stop();
        },
        error: reject,
        complete: () => {},
      },
    );
  });
}

const wsClient = createWsClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, lazy: false });
const sseClient = createSseClient({ url, singleConnection: false });
const overWs = firstEvent(wsClient);
const overSse = firstEvent(sseClient);

// Send until both subscriptions are live (the mutation itself does not wait for them).
let results = null;
const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("no event within 10 s")), 10000));
const both = Promise.all([overWs, overSse]).then((received) => (results = received));
for (let attempt = 0; attempt < 100 && results === null; attempt++) {
  await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: 'mutation { sendMessage(room: "e2e", author: "node", text: "hello") { text } }' }),
  });
  await Promise.race([both, new Promise((resolve) => setTimeout(resolve, 100))]);
}
const [ws, sse] = await Promise.race([both, timeout]);
await wsClient.dispose();
sseClient.dispose();
console.log(JSON.stringify({ ws, sse }));
process.exit(0);

// A live chat over GraphQL:  ferry run examples/apps/chat/app.js   then open http://localhost:8080/
//
// Messages are sent with a mutation and arrive through a subscription, filtered by room.
// The page subscribes over graphql-sse (plain EventSource-style streaming, no library);
// graphql-ws clients can use ws://localhost:8080/graphql with "graphql-transport-ws".

const MESSAGE = "type ChatMessage { room: String! author: String! text: String! at: String! }";

registerGraphQLQuery("history", `history(room: String!): [ChatMessage!]! ${MESSAGE}`, (context) => {
  return JSON.parse(sharedStorage.getItem(`room:${context.args.room}`) || "[]");
});

registerGraphQLMutation("sendMessage", `sendMessage(room: String!, author: String!, text: String!): ChatMessage! ${MESSAGE}`, (context) => {
  const { room, author, text } = context.args;
  if (text.trim() === "") throw new Error("say something");
  const message = { room, author: author.slice(0, 32), text: text.slice(0, 500), at: new Date().toISOString() };
  const history = JSON.parse(sharedStorage.getItem(`room:${room}`) || "[]").slice(-49);
  history.push(message);
  sharedStorage.setItem(`room:${room}`, JSON.stringify(history));
  graphQLRegistry.sendSubscriptionMessageFiltered("messages", message, { room });
  return message;
});

// The resolver returns the subscriber's metadata: it receives the messages of its room.
registerGraphQLSubscription("messages", `messages(room: String!): ChatMessage! ${MESSAGE}`, (context) => {
  return { room: context.args.room };
});

const page = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Ferry GraphQL chat</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 2rem; max-width: 40rem; }
  #log { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .5rem; }
  .who { font-weight: 600; }
</style>
<h1>Room <span id="room"></span></h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" size="40" autofocus> <button>Send</button></form>
<script>
  const room = new URLSearchParams(location.search).get("room") || "lobby";
  const author = new URLSearchParams(location.search).get("name") || "guest";
  document.getElementById("room").textContent = room;
  const log = document.getElementById("log");
  const show = (message) => {
    const line = document.createElement("div");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = message.author + ": ";
    line.append(who, message.text);
    log.append(line);
    log.scrollTop = log.scrollHeight;
  };
  const graphql = (query, variables) =>
    fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
      body: JSON.stringify({ query, variables }),
    }).then((response) => response.json());

  async function subscribe() {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({
        query: "subscription ($room: String!) { messages(room: $room) { author text } }",
        variables: { room },
      }),
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\\n\\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\\n");
        if (block.startsWith("event: next") && data) show(JSON.parse(data).data.messages);
      }
    }
    setTimeout(subscribe, 1000);
  }

  graphql("query ($room: String!) { history(room: $room) { author text } }", { room }).then((result) =>
    (result.data?.history ?? []).forEach(show),
  );
  subscribe();
  document.getElementById("form").onsubmit = (event) => {
    event.preventDefault();
    const input = document.getElementById("text");
    if (!input.value) return;
    graphql("mutation ($room: String!, $author: String!, $text: String!) { sendMessage(room: $room, author: $author, text: $text) { at } }", {
      room, author, text: input.value,
    });
    input.value = "";
  };
</script>
</html>`;

register("/", () => ResponseBuilder.html(page));

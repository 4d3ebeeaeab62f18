// WebSocket echo and chat:  ferry run examples/apps/websocket/app.js
//
//   open http://localhost:8080/            (a chat page; open it in two tabs)
//   python3 -m websockets ws://localhost:8080/echo
//
// /echo sends every message back as it came (text or binary). /chat tells everyone when
// someone joins or leaves and passes each message on to the others. A socket's events all
// run on one worker, in order, so `socket.data` keeps per-connection state.

registerWebSocket("/echo", {
  message(socket, data) {
    socket.send(data);
  },
});

routeRegistry.registerWebSocketRoute("/chat", {
  open(socket, context) {
    const name = (context.request.query.name || "").trim().slice(0, 32) || `guest-${socket.id}`;
    socket.data.name = name;
    socket.send(JSON.stringify({ type: "welcome", name }));
    socket.broadcast(JSON.stringify({ type: "joined", name }));
    return { name };
  },
  message(socket, data) {
    if (typeof data !== "string") {
      return socket.close(4003, "text messages only");
    }
    socket.broadcast(JSON.stringify({ type: "message", from: socket.data.name, text: data }));
  },
  close(socket) {
    sendWebSocketMessage("/chat", JSON.stringify({ type: "left", name: socket.data.name }));
  },
});

const page = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Ferry WebSocket chat</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 2rem; max-width: 40rem; }
  #log { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .5rem; }
  .note { color: #666; }
</style>
<h1>Chat</h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" size="40" autofocus> <button>Send</button></form>
<script>
  const log = document.getElementById("log");
  const add = (text, note) => {
    const line = document.createElement("div");
    line.textContent = text;
    if (note) line.className = "note";
    log.append(line);
    log.scrollTop = log.scrollHeight;
  };
  const name = prompt("Your name?") || "";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(scheme + "//" + location.host + "/chat?name=" + encodeURIComponent(name));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "welcome") add("you are " + message.name, true);
    if (message.type === "joined") add(message.name + " joined", true);
    if (message.type === "left") add(message.name + " left", true);
    if (message.type === "message") add(message.from + ": " + message.text);
  };
  socket.onclose = (event) => add("disconnected (" + event.code + ")", true);
  document.getElementById("form").onsubmit = (event) => {
    event.preventDefault();
    const input = document.getElementById("text");
    if (input.value) {
      socket.send(input.value);
      add("me: " + input.value);
      input.value = "";
    }
  };
</script>
</html>`;

register("/", () => ResponseBuilder.html(page));

// A small JSON API kept in sharedStorage:  ferry run examples/apps/notes/app.js
//
//   curl -X POST localhost:8080/notes -d '{"text":"buy milk"}'
//   curl localhost:8080/notes
//   curl localhost:8080/notes/1
//   curl -X DELETE localhost:8080/notes/1
//
// sharedStorage is shared by every worker and kept in .ferry/ferry.db across restarts.

function load() {
  return JSON.parse(sharedStorage.getItem("notes") || "[]");
}

function save(notes) {
  sharedStorage.setItem("notes", JSON.stringify(notes));
}

register("/notes", () => ResponseBuilder.json(load()));

register(
  "/notes",
  (context) => {
    let input;
    try {
      input = JSON.parse(context.request.body || "");
    } catch {
      return ResponseBuilder.error(400, "send JSON such as {\"text\": \"...\"}");
    }
    if (typeof input.text !== "string" || input.text.trim() === "") {
      return ResponseBuilder.error(422, "text must be a non-empty string");
    }
    const notes = load();
    const id = Number(sharedStorage.getItem("next-id") || "1");
    sharedStorage.setItem("next-id", String(id + 1));
    const note = { id, text: input.text.trim(), created: new Date().toISOString() };
    notes.push(note);
    save(notes);
    return ResponseBuilder.json(note, 201);
  },
  "POST",
);

register("/notes/:id", (context) => {
  const note = load().find((n) => String(n.id) === context.request.params.id);
  return note ? ResponseBuilder.json(note) : ResponseBuilder.error(404, "no such note");
});

register(
  "/notes/:id",
  (context) => {
    const notes = load();
    const kept = notes.filter((n) => String(n.id) !== context.request.params.id);
    if (kept.length === notes.length) {
      return ResponseBuilder.error(404, "no such note");
    }
    save(kept);
    return ResponseBuilder.noContent();
  },
  "DELETE",
);

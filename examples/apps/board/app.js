// A message board: SQL, sign-in and a live stream together.
//   ferry run examples/apps/board --dev          (then open http://127.0.0.1:8080/)
// Anyone may read; signed-in users post (the --dev form signs in without a provider);
// authors and administrators delete. New posts appear in every open page at once, on
// every node when several share one PostgreSQL (--database-url).

async function init() {
  await db.exec(`CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY,
    author_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    posted TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS posts_by_id ON posts (id)`);
}

registerWebStream("/events");

const escape = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

register("/", (context) => {
  const auth = context.request.auth;
  const who = auth.isAuthenticated
    ? `Signed in as <b>${escape(auth.userName || auth.userId)}</b>. <a href="/auth/logout">Sign out</a>
       <form id="post"><input name="text" maxlength="500" required autofocus> <button>Post</button></form>`
    : `<a href="/auth/login?redirect=/">Sign in</a> to post.`;
  return ResponseBuilder.html(`<!doctype html>
<meta charset="utf-8"><title>Board</title>
<h1>Board</h1>
<p>${who}</p>
<ul id="posts"></ul>
<script>
const list = document.getElementById("posts");
const show = (post, first) => {
  const item = document.createElement("li");
  item.textContent = post.author + ": " + post.text;
  first ? list.prepend(item) : list.append(item);
};
fetch("/posts").then((r) => r.json()).then((posts) => posts.forEach((p) => show(p, false)));
new EventSource("/events").onmessage = (event) => show(JSON.parse(event.data), true);
const form = document.getElementById("post");
if (form) form.onsubmit = async (event) => {
  event.preventDefault();
  await fetch("/posts", { method: "POST", headers: { "content-type": "application/json" },
                          body: JSON.stringify({ text: form.text.value }) });
  form.reset();
};
</script>`);
});

// The newest posts first; ?before=ID pages back.
register("/posts", async (context) => {
  const before = Number(context.request.query.before ?? 0);
  const { results } = before > 0
    ? await db.prepare("SELECT id, author, text, posted FROM posts WHERE id < ? ORDER BY id DESC LIMIT 50").bind(before).all()
    : await db.prepare("SELECT id, author, text, posted FROM posts ORDER BY id DESC LIMIT 50").all();
  return ResponseBuilder.json(results);
});

register("/posts", async (context) => {
  const user = context.request.auth.requireAuth();
  let text;
  try {
    text = JSON.parse(context.request.body ?? "").text;
  } catch {
    return ResponseBuilder.error(400, 'send JSON such as {"text": "hello"}');
  }
  if (typeof text !== "string" || text.trim() === "" || text.length > 500) {
    return ResponseBuilder.error(422, "text must be 1 to 500 characters");
  }
  const post = await db
    .prepare("INSERT INTO posts (author_id, author, text, posted) VALUES (?, ?, ?, ?) RETURNING id, author, text, posted")
    .bind(user.id, user.name || user.email || user.id, text.trim(), new Date().toISOString())
    .first();
  sendStreamMessageToPath("/events", JSON.stringify(post));
  return ResponseBuilder.json(post, 201);
}, "POST");

register("/posts/:id", async (context) => {
  const user = context.request.auth.requireAuth();
  const id = Number(context.request.params.id);
  const post = await db.prepare("SELECT author_id FROM posts WHERE id = ?").bind(id).first();
  if (post === null) return ResponseBuilder.error(404, "no such post");
  if (post.author_id !== user.id && context.request.auth.role !== "administrator") {
    return ResponseBuilder.error(403, "only its author or an administrator may delete a post");
  }
  await db.prepare("DELETE FROM posts WHERE id = ?").bind(id).run();
  return ResponseBuilder.noContent();
}, "DELETE");

// Roles, groups and per-user data, shown:  ferry run examples/apps/auth --dev
// then open http://127.0.0.1:8080/ and sign in with the development form (any name, e-mail
// and role). With a real provider instead of --dev, see docs/auth.md. An MCP client pointed
// at http://127.0.0.1:8080/mcp signs in through the same page and calls the `whoami` tool.

const escape = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

register("/", (context) => {
  const auth = context.request.auth;
  const who = auth.isAuthenticated
    ? `Signed in as <b>${escape(auth.userName || auth.userEmail || auth.userId)}</b>
       (${escape(auth.userEmail ?? "no verified e-mail")}), role <b>${escape(auth.role)}</b>
       via ${escape(auth.provider)}, groups: ${escape(auth.groups.join(", ") || "none")}.
       <a href="/auth/logout">Sign out</a>`
    : `Not signed in. <a href="/auth/login?redirect=/">Sign in</a>`;
  return ResponseBuilder.html(`<!doctype html>
<title>Roles in Ferry</title>
<h1>Roles in Ferry</h1>
<p>${who}</p>
<ul>
  <li><a href="/me">/me</a> — anyone signed in (401 otherwise)</li>
  <li><a href="/editor">/editor</a> — editors and administrators (403 for others)</li>
  <li><a href="/admin">/admin</a> — administrators only</li>
  <li><a href="/note">/note</a> — your own note, kept for you alone</li>
</ul>`);
});

// The signed-in user, as JSON.
register("/me", (context) => ResponseBuilder.json(context.request.auth.requireAuth()));

register("/editor", (context) => {
  const user = context.request.auth.requireEditor();
  return `Hello ${user.name}: editors manage the scripts they own through /engine/.`;
});

register("/admin", (context) => {
  const user = context.request.auth.requireAdmin();
  return `Hello ${user.name}: administrators give roles at /engine/user_roles.`;
});

// A note per signed-in user (personalStorage). After the await, the global `auth` is still
// this request's user, however many others the worker served meanwhile.
register("/note", async () => {
  auth.requireAuth();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const note = personalStorage.getItem("note");
  return ResponseBuilder.html(`<!doctype html><title>Your note</title>
<p>${escape(auth.userName)}'s note: <b>${escape(note ?? "(none yet)")}</b></p>
<form method="post"><input name="text" value="${escape(note ?? "")}"><button>Save</button></form>`);
});

register(
  "/note",
  (context) => {
    auth.requireAuth();
    personalStorage.setItem("note", context.request.form.text ?? "");
    return ResponseBuilder.redirect("/note", 303);
  },
  "POST",
);

// For MCP clients, which sign in through Ferry's authorization server (docs/auth.md).
registerMCPTool("whoami", "The signed-in user this client acts for", { type: "object" }, () =>
  JSON.stringify({ name: auth.userName, role: auth.role, groups: auth.groups }),
);

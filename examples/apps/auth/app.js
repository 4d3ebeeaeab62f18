// Roles, shown:  ferry run examples/apps/auth --dev
// then open http://127.0.0.1:8080/ and sign in with the development form (any name, e-mail
// and role). With a real provider instead of --dev, see docs/auth.md.

const escape = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

register("/", (context) => {
  const auth = context.request.auth;
  const who = auth.isAuthenticated
    ? `Signed in as <b>${escape(auth.userName || auth.userEmail || auth.userId)}</b>
       (${escape(auth.userEmail ?? "no verified e-mail")}), role <b>${escape(auth.role)}</b>
       via ${escape(auth.provider)}. <a href="/auth/logout">Sign out</a>`
    : `Not signed in. <a href="/auth/login?redirect=/">Sign in</a>`;
  return ResponseBuilder.html(`<!doctype html>
<title>Roles in Ferry</title>
<h1>Roles in Ferry</h1>
<p>${who}</p>
<ul>
  <li><a href="/me">/me</a> — anyone signed in (401 otherwise)</li>
  <li><a href="/editor">/editor</a> — editors and administrators (403 for others)</li>
  <li><a href="/admin">/admin</a> — administrators only</li>
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

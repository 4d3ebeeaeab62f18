// A form with file uploads:  ferry run examples/apps/upload/app.js
// then open http://127.0.0.1:8080/ and send a few files.

const page = (body) =>
  ResponseBuilder.html(`<!doctype html>
<meta charset="utf-8">
<title>Upload</title>
<style>body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }</style>
${body}`);

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

register("/", () =>
  page(`<h1>Send files</h1>
<form method="post" action="/upload" enctype="multipart/form-data">
  <p><label>Title <input name="title" required></label></p>
  <p><input type="file" name="files" multiple required></p>
  <p><button>Upload</button></p>
</form>`),
);

register(
  "/upload",
  (context) => {
    const { form, files } = context.request;
    if (files.length === 0) {
      return ResponseBuilder.error(400, "choose at least one file");
    }
    const rows = files
      .map((file) => `<tr><td>${escape(file.filename)}</td><td>${escape(file.contentType || "?")}</td><td>${file.size} bytes</td></tr>`)
      .join("");
    return page(`<h1>${escape(form.title || "Untitled")}</h1>
<table><tr><th>File</th><th>Type</th><th>Size</th></tr>${rows}</table>
<p><a href="/">Send more</a></p>`);
  },
  "POST",
);

// The smallest Ferry app:  ferry run examples/apps/hello/app.js
// then open http://127.0.0.1:8080/hello?name=Ada

register("/", () =>
  ResponseBuilder.html(`<!doctype html>
<title>Hello from Ferry</title>
<h1>Hello from Ferry</h1>
<p>Try <a href="/hello?name=Ada">/hello?name=Ada</a> or <a href="/hello/Grace">/hello/Grace</a>.</p>`),
);

function hello(context) {
  const name = context.request.params.name || context.request.query.name || "world";
  console.log("greeting", name);
  return `Hello, ${name}!`;
}

register("/hello", hello);
register("/hello/:name", hello);

// One handler in the shape Deno, Cloudflare Workers and Ferry share: it runs unchanged on
// `deno serve examples/portable/main.js` and on `ferry run examples/portable/main.js`,
// and both answer alike (tests/e2e/portable.rs compares them request by request).

const hex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");

export default {
  async fetch(request) {
    const url = new URL(request.url);
    switch (`${request.method} ${url.pathname}`) {
      case "GET /":
        return new Response("Hello from a portable app\n", {
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      case "GET /greet":
        return Response.json({ hello: url.searchParams.get("name") ?? "world" });
      case "POST /echo": {
        const body = await request.json();
        return Response.json(
          { received: body, type: request.headers.get("content-type"), method: request.method },
          { status: 201, headers: { "x-echo": "yes" } },
        );
      }
      case "POST /digest": {
        const bytes = await request.arrayBuffer();
        const digest = await crypto.subtle.digest("SHA-256", bytes);
        return new Response(`${bytes.byteLength} bytes, sha-256 ${hex(digest)}\n`);
      }
      case "POST /form": {
        const form = await request.formData();
        return Response.json(Object.fromEntries(form));
      }
      case "GET /redirect":
        return Response.redirect(new URL("/greet?name=redirected", url), 302);
      case "GET /cookies": {
        const headers = new Headers();
        headers.append("set-cookie", "a=1; Path=/");
        headers.append("set-cookie", "b=2; Path=/");
        return new Response(null, { status: 204, headers });
      }
      default:
        return new Response("not found\n", { status: 404 });
    }
  },
};

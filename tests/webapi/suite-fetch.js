// The second half of the web-platform checks (see suite.js): URL and URLSearchParams,
// events and AbortSignal, ReadableStream, and the Fetch Standard's classes (Headers, Blob,
// File, FormData, Request, Response). Called by webApiChecks with its `check`.

async function fetchApiChecks(check) {
  const bytes = (view) => Array.from(view);
  const drain = async (stream) => {
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return chunks;
  };

  // URL
  await check("url parts", () => {
    const url = new URL("HTTPS://us%65r:p%40ss@EXAMPLE.com:443/a/./b/../c?x=1&y=%20#frag");
    return [url.href, url.origin, url.protocol, url.username, url.password, url.host, url.hostname,
      url.port, url.pathname, url.search, url.hash, String(url), JSON.stringify({ url })];
  });
  await check("url against a base", () => [
    new URL("../d?q", "http://h.test/a/b/c").href,
    new URL("//other.test/x", "https://h.test/").href,
    new URL("?only", "http://h.test/p?old#f").href,
    new URL("#f", "http://h.test/p?q").href,
    new URL("http://abs.test/", "http://ignored.test/").href,
  ]);
  await check("url normalises", () => [
    new URL("http://h.test:80/").href,
    new URL("http://h.test/%7Efoo/ä b").href,
    new URL("http://EXAMPLE.com./").host,
    new URL("http://0x7f.1/").hostname,
    new URL("http://[::FFFF:127.0.0.1]/").hostname,
    new URL("http://bücher.de/").hostname,
    new URL("file:///tmp/a b").href,
    new URL("data:text/plain,hi there").pathname,
    new URL("mailto:someone@example.com").origin,
  ]);
  await check("url refuses", () =>
    ["http://", "not a url", "http://a b/", "https://h.test:99999/", "//no-scheme"].map((input) => URL.canParse(input)));
  await check("url invalid throws TypeError", () => new URL("nope"));
  await check("url invalid base throws TypeError", () => new URL("/a", "not a base"));
  await check("url parse", () => [URL.parse("nope"), URL.parse("/x", "http://h.test").href]);
  await check("url setters", () => {
    const url = new URL("http://h.test/p?q=1#h");
    url.protocol = "https";
    url.username = "me";
    url.password = "pw d";
    url.hostname = "Other.TEST";
    url.port = "8443";
    url.pathname = "/a b/c";
    url.search = "?x=y z";
    url.hash = "top";
    const changed = url.href;
    url.port = "443";
    url.protocol = "ftp:";
    url.protocol = "foo";
    url.host = "h2.test:81";
    return [changed, url.href];
  });
  await check("url empty search and hash", () => {
    const url = new URL("http://h.test/p?q#h");
    url.search = "";
    url.hash = "";
    return url.href;
  });
  await check("url href setter", () => {
    const url = new URL("http://h.test/");
    url.href = "https://x.test/y?z";
    return [url.host, url.pathname, url.searchParams.get("z")];
  });
  await check("url href setter refuses", () => {
    const url = new URL("http://h.test/");
    url.href = "nope";
  });
  await check("url searchParams stay in step", () => {
    const url = new URL("http://h.test/?a=1&b=2");
    const params = url.searchParams;
    params.append("c", "x y&z");
    const first = url.href;
    params.delete("a");
    url.search = "?d=4";
    const second = [params.get("d"), params.has("b"), url.searchParams === params];
    params.delete("d");
    return [first, second, url.href, url.search];
  });
  await check("url string tags", () => [Object.prototype.toString.call(new URL("http://h.test")), typeof URL.canParse]);

  // URLSearchParams
  await check("params from text", () => {
    const params = new URLSearchParams("?a=1&b=x+y&a=2&c=%zz&d&=e&&f=%C3%A9");
    return [[...params], params.size, params.get("a"), params.getAll("a"), params.get("none")];
  });
  await check("params from pairs and records", () => [
    new URLSearchParams([["a", "1"], ["b", 2]]).toString(),
    new URLSearchParams({ x: "1", y: true }).toString(),
    new URLSearchParams(new URLSearchParams("k=v")).toString(),
  ]);
  await check("params pair of three throws", () => new URLSearchParams([["a", "b", "c"]]));
  await check("params serialize", () => {
    const params = new URLSearchParams();
    params.append("sp ace", "a+b&c=d/é~*'()!");
    params.append("emoji", "\u{1f600}");
    return params.toString();
  });
  await check("params set, delete with value, has with value", () => {
    const params = new URLSearchParams("a=1&b=2&a=3&a=4");
    params.set("a", "9");
    const afterSet = params.toString();
    params.append("b", "5");
    params.delete("b", "2");
    return [afterSet, params.toString(), params.has("b", "5"), params.has("b", "2")];
  });
  await check("params sort is stable", () => {
    const params = new URLSearchParams("z=1&a=2&\u{1f600}=3&a=1&\uffff=4&b=0");
    params.sort();
    return [...params.keys()].join(",") + "|" + [...params.values()].join(",");
  });
  await check("params iterate", () => {
    const seen = [];
    new URLSearchParams("a=1&b=2").forEach((value, name) => seen.push(name + value));
    return [seen, [...new URLSearchParams("x=1").entries()], [...new URLSearchParams("x=1")]];
  });

  // Event, EventTarget, AbortController, AbortSignal
  await check("event fields", () => {
    const event = new Event("ping", { cancelable: true, bubbles: true });
    const before = [event.type, event.bubbles, event.cancelable, event.defaultPrevented, event.eventPhase, event.isTrusted, event.target];
    event.preventDefault();
    return [before, event.defaultPrevented, typeof event.timeStamp, Event.AT_TARGET, new CustomEvent("c", { detail: { n: 1 } }).detail];
  });
  await check("event target dispatch", () => {
    const target = new EventTarget();
    const seen = [];
    const listener = (event) => seen.push(["fn", event.type, event.target === target, event.currentTarget === target, event.eventPhase]);
    target.addEventListener("go", listener);
    target.addEventListener("go", listener);
    target.addEventListener("go", { handleEvent: (event) => seen.push(["object", event.type]) });
    target.addEventListener("go", () => seen.push(["once"]), { once: true });
    const event = new Event("go", { cancelable: true });
    target.addEventListener("go", (e) => e.preventDefault());
    const first = target.dispatchEvent(event);
    target.removeEventListener("go", listener);
    target.dispatchEvent(new Event("go"));
    return [seen, first, event.eventPhase, event.currentTarget];
  });
  await check("event stopImmediatePropagation", () => {
    const target = new EventTarget();
    const seen = [];
    target.addEventListener("x", (event) => {
      seen.push(1);
      event.stopImmediatePropagation();
    });
    target.addEventListener("x", () => seen.push(2));
    target.dispatchEvent(new Event("x"));
    return seen;
  });
  await check("event listener removed by a signal", () => {
    const target = new EventTarget();
    const controller = new AbortController();
    let count = 0;
    target.addEventListener("x", () => count++, { signal: controller.signal });
    target.dispatchEvent(new Event("x"));
    controller.abort();
    target.dispatchEvent(new Event("x"));
    return count;
  });
  await check("abort controller", () => {
    const controller = new AbortController();
    const signal = controller.signal;
    const seen = [];
    signal.onabort = (event) => seen.push(["onabort", event.type]);
    signal.addEventListener("abort", () => seen.push(["listener", signal.aborted]));
    const before = [signal.aborted, signal.reason];
    controller.abort();
    controller.abort("again");
    return [before, seen, signal.aborted, signal.reason instanceof DOMException, signal.reason.name, signal instanceof EventTarget];
  });
  await check("abort with a reason", () => {
    const controller = new AbortController();
    controller.abort({ why: "done" });
    try {
      controller.signal.throwIfAborted();
      return "did not throw";
    } catch (error) {
      return error;
    }
  });
  await check("abort signal statics", () => {
    const aborted = AbortSignal.abort();
    const withReason = AbortSignal.abort("r");
    const controller = new AbortController();
    const any = AbortSignal.any([controller.signal, new AbortController().signal]);
    const before = any.aborted;
    controller.abort("first");
    return [aborted.aborted, aborted.reason.name, withReason.reason, before, any.aborted, any.reason,
      AbortSignal.any([withReason]).reason];
  });
  await check("abort signal timeout", async () => {
    const signal = AbortSignal.timeout(5);
    const before = signal.aborted;
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    return [before, signal.aborted, signal.reason.name];
  });
  await check("abort signal is not constructible", () => new AbortSignal());

  // ReadableStream
  await check("stream from a start source", async () => {
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue("a");
        controller.enqueue("b");
        controller.close();
      },
    });
    return [stream.locked, await drain(stream), stream.locked];
  });
  await check("stream pulls on demand", async () => {
    let pulls = 0;
    const stream = new ReadableStream({
      pull(controller) {
        pulls++;
        if (pulls > 3) controller.close();
        else controller.enqueue(pulls);
      },
    }, { highWaterMark: 0 });
    await Promise.resolve();
    const before = pulls;
    const reader = stream.getReader();
    const first = await reader.read();
    const rest = [await reader.read(), await reader.read(), await reader.read(), await reader.read()];
    return [before, first, rest, pulls];
  });
  await check("stream with async pull", async () => {
    let n = 0;
    const stream = new ReadableStream({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        n++;
        if (n === 3) controller.close();
        else controller.enqueue(n);
      },
    });
    return drain(stream);
  });
  await check("stream errors reach the reader", async () => {
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(1);
        controller.error(new TypeError("broken"));
      },
    });
    const reader = stream.getReader();
    try {
      await reader.read();
      return "no error";
    } catch (error) {
      return [error.name, error.message];
    }
  });
  await check("stream cancel", async () => {
    let reason;
    const stream = new ReadableStream({
      pull(controller) {
        controller.enqueue("x");
      },
      cancel(why) {
        reason = why;
      },
    });
    const reader = stream.getReader();
    const first = await reader.read();
    await reader.cancel("enough");
    return [first, reason, await reader.read()];
  });
  await check("stream locked twice", () => {
    const stream = new ReadableStream();
    stream.getReader();
    return stream.getReader();
  });
  await check("stream release lock", async () => {
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(1);
        controller.close();
      },
    });
    const reader = stream.getReader();
    reader.releaseLock();
    const locked = stream.locked;
    return [locked, await drain(stream)];
  });
  await check("stream enqueue after close throws", () => {
    let saved;
    new ReadableStream({ start(controller) { saved = controller; } });
    saved.close();
    saved.enqueue(1);
  });
  await check("stream desiredSize", () => {
    let saved;
    new ReadableStream({ start(controller) { saved = controller; } }, { highWaterMark: 3 });
    const first = saved.desiredSize;
    saved.enqueue("a");
    const second = saved.desiredSize;
    saved.close();
    return [first, second, saved.desiredSize];
  });
  await check("stream tee", async () => {
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(1);
        controller.enqueue(2);
        controller.close();
      },
    });
    const [left, right] = stream.tee();
    return [stream.locked, await drain(left), await drain(right)];
  });
  await check("stream from iterables", async () => {
    async function* generate() {
      yield "x";
      yield "y";
    }
    return [await drain(ReadableStream.from(generate())), await drain(ReadableStream.from([1, 2, 3]))];
  });
  await check("stream iteration can stop early", async () => {
    let canceled = false;
    const stream = new ReadableStream({
      pull(controller) {
        controller.enqueue(1);
      },
      cancel() {
        canceled = true;
      },
    });
    for await (const chunk of stream) {
      if (chunk === 1) break;
    }
    return [canceled, stream.locked];
  });

  // Headers
  await check("headers basics", () => {
    const headers = new Headers({ "Content-Type": "text/plain", "X-A": " spaced\t" });
    headers.append("x-a", "second");
    headers.append("Set-Cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return [headers.get("content-type"), headers.get("X-A"), headers.has("x-a"), headers.get("none"),
      [...headers], headers.getSetCookie(), [...headers.keys()]];
  });
  await check("headers set and delete", () => {
    const headers = new Headers([["a", "1"], ["b", "2"], ["A", "3"]]);
    headers.set("a", "9");
    headers.delete("b");
    const seen = [];
    headers.forEach((value, name) => seen.push(`${name}=${value}`));
    return [seen, [...new Headers(headers).entries()]];
  });
  await check("headers refuse bad names", () => new Headers({ "bad name": "x" }));
  await check("headers refuse bad values", () => new Headers({ a: "line\nbreak" }));
  await check("headers refuse wide characters", () => new Headers({ a: "\u0100" }));
  await check("headers refuse bad pairs", () => new Headers([["a"]]));
  await check("headers allow latin-1 values", () => new Headers({ a: "caf\u00e9" }).get("a"));

  // Blob and File
  await check("blob parts", async () => {
    const blob = new Blob(["h\u00e9", new Uint8Array([33, 34]), new Blob(["z"]), new Uint16Array([0x4241]).buffer], { type: "Text/Plain" });
    return [blob.size, blob.type, await blob.text(), bytes(await blob.bytes()), (await blob.arrayBuffer()).byteLength];
  });
  await check("blob slice", async () => {
    const blob = new Blob(["abcdefgh"]);
    return [await blob.slice(2, 5).text(), await blob.slice(-3).text(), await blob.slice(5, 2).text(),
      blob.slice(0, 1, "X/Y").type, await blob.slice(-100, 100).text()];
  });
  await check("blob type must be ascii", () => [new Blob([], { type: "a\u00e9" }).type, new Blob().size, new Blob().type]);
  await check("blob parts must be a sequence", () => new Blob("abc"));
  await check("blob stream", async () => {
    const chunks = await drain(new Blob(["abc"]).stream());
    return chunks.map((chunk) => [chunk instanceof Uint8Array, bytes(chunk)]);
  });
  await check("file", async () => {
    const file = new File(["data"], "a.txt", { type: "text/plain", lastModified: 42 });
    return [file.name, file.type, file.size, file.lastModified, file instanceof Blob, await file.text(),
      Object.prototype.toString.call(file), typeof new File([], "x").lastModified];
  });
  await check("file needs a name", () => new File(["x"]));

  // FormData
  await check("form data", async () => {
    const form = new FormData();
    form.append("a", "1");
    form.append("a", 2);
    form.append("file", new Blob(["xyz"], { type: "text/plain" }), "x.txt");
    form.append("blob", new Blob(["q"]));
    form.set("b", "3");
    const file = form.get("file");
    const blob = form.get("blob");
    const list = [...form].map(([name, value]) => [name, typeof value === "string" ? value : "file"]);
    form.delete("a");
    return [list, form.getAll("a"), form.has("b"), file.name, file.type, await file.text(), blob.name, blob instanceof File];
  });

  // Request
  await check("request defaults", () => {
    const request = new Request("https://h.test/a?b#c");
    return [request.url, request.method, [...request.headers], request.body, request.bodyUsed, request.redirect,
      request.signal instanceof AbortSignal, request.signal.aborted];
  });
  await check("request init", async () => {
    const request = new Request("http://h.test/", { method: "post", headers: { "X-A": "1" }, body: "hi", redirect: "manual" });
    return [request.method, request.headers.get("x-a"), request.headers.get("content-type"), request.redirect, await request.text(), request.bodyUsed];
  });
  await check("request methods", () =>
    ["get", "Post", "delete", "options", "head", "put", "patch", "PATCH", "custom"].map((method) => new Request("http://h.test/", { method }).method));
  await check("request forbidden method", () => new Request("http://h.test/", { method: "CONNECT" }));
  await check("request invalid method", () => new Request("http://h.test/", { method: "a b" }));
  await check("request relative url", () => new Request("/relative"));
  await check("request get with body", () => new Request("http://h.test/", { body: "x" }));
  await check("request from request", async () => {
    const original = new Request("http://h.test/x", { method: "PUT", body: "payload", headers: { a: "b" } });
    const copy = new Request(original, { headers: { c: "d" } });
    return [copy.url, copy.method, [...copy.headers], await copy.text(), original.bodyUsed];
  });
  await check("request clone", async () => {
    const original = new Request("http://h.test/", { method: "POST", body: "twice" });
    const copy = original.clone();
    return [await original.text(), await copy.text(), copy.method];
  });
  await check("request signal follows", () => {
    const controller = new AbortController();
    const request = new Request("http://h.test/", { signal: controller.signal });
    const before = request.signal.aborted;
    controller.abort("stop");
    return [before, request.signal.aborted, request.signal.reason, request.signal === controller.signal];
  });
  await check("request bodies of every kind", async () => {
    const post = (body) => new Request("http://h.test/", { method: "POST", body });
    const params = post(new URLSearchParams({ a: "1 2" }));
    const blob = post(new Blob(["b"], { type: "application/x-thing" }));
    const buffer = post(new Uint8Array([104, 105]).buffer);
    return [
      params.headers.get("content-type"), await params.text(),
      blob.headers.get("content-type"), await blob.text(),
      buffer.headers.get("content-type"), await buffer.text(),
    ];
  });
  await check("request body read twice", async () => {
    const request = new Request("http://h.test/", { method: "POST", body: "x" });
    await request.text();
    return request.text();
  });

  // Response
  await check("response defaults", async () => {
    const response = new Response();
    return [response.status, response.ok, response.statusText, response.type, response.url, response.redirected,
      response.body, [...response.headers], await response.text()];
  });
  await check("response init", async () => {
    const response = new Response("created", { status: 201, statusText: "Made", headers: [["X-Id", "7"]] });
    return [response.status, response.ok, response.statusText, response.headers.get("x-id"),
      response.headers.get("content-type"), await response.text()];
  });
  await check("response bad status", () => new Response("x", { status: 99 }));
  await check("response status 600", () => new Response("x", { status: 600 }));
  await check("response body with 204", () => new Response("x", { status: 204 }));
  await check("response null body with 204", () => new Response(null, { status: 204 }).status);
  await check("response json", async () => {
    const response = Response.json({ a: [1, "b"] }, { status: 202, headers: { "x-a": "1" } });
    return [response.status, response.headers.get("content-type"), response.headers.get("x-a"), await response.json()];
  });
  await check("response json keeps a given type", () =>
    Response.json(1, { headers: { "content-type": "application/problem+json" } }).headers.get("content-type"));
  await check("response json of undefined", () => Response.json(undefined));
  await check("response json without init", async () => {
    const response = Response.json({ message: "hi", list: [1, 2] });
    const copy = response.clone();
    const before = response.bodyUsed;
    const headers = response.headers;
    headers.append("x-added", "1");
    return [response.status, response.ok, response.statusText, response.type, response.url, response.redirected,
      before, [...response.headers], headers === response.headers, await response.text(), response.bodyUsed,
      [...copy.headers], await copy.json()];
  });
  await check("response json body read twice", async () => {
    const response = Response.json([1]);
    await response.arrayBuffer();
    return response.text();
  });
  await check("response json body as a stream", async () => {
    const response = Response.json("streamed");
    const reader = response.body.getReader();
    const { value } = await reader.read();
    return [new TextDecoder().decode(value), response.bodyUsed];
  });
  await check("response of text without init", async () => {
    const response = new Response("plain");
    const status = [response.status, response.statusText, response.bodyUsed];
    response.headers.set("x-late", "1");
    return [status, [...response.headers], await response.text(), response.bodyUsed];
  });
  await check("response json with a status", async () => {
    const response = Response.json({ a: 1 }, { status: 201 });
    return [response.status, [...response.headers], await response.json()];
  });
  await check("response clone keeps the status text", () => {
    const copy = new Response("x", { status: 203, statusText: "Kept" }).clone();
    return [copy.status, copy.statusText, copy.type];
  });
  await check("response error", () => {
    const response = Response.error();
    let frozen = false;
    try {
      response.headers.set("a", "b");
    } catch (error) {
      frozen = error instanceof TypeError;
    }
    return [response.type, response.status, response.ok, response.body, frozen];
  });
  await check("response redirect", () => {
    const response = Response.redirect("http://h.test/next?q", 307);
    return [response.status, response.headers.get("location"), response.body];
  });
  await check("response redirect bad status", () => Response.redirect("http://h.test/", 200));
  await check("response redirect relative", () => Response.redirect("/next"));
  await check("response bodies", async () => [
    bytes(await new Response(new Uint8Array([1, 2, 3])).bytes()),
    (await new Response("ab").arrayBuffer()).byteLength,
    await (await new Response("blob body", { headers: { "content-type": "text/x" } }).blob()).text(),
    (await new Response("q", { headers: { "content-type": "text/x" } }).blob()).type,
    await new Response(new Blob(["from blob"])).text(),
    await new Response("\u00e9").text(),
    await new Response(12).text(),
  ]);
  await check("response body stream", async () => {
    const response = new Response("streamed");
    const body = response.body;
    const same = response.body === body;
    const chunks = await drain(body);
    return [same, body instanceof ReadableStream, new TextDecoder().decode(chunks[0]), response.bodyUsed];
  });
  await check("response body stream then text", async () => {
    const response = new Response("x");
    const reader = response.body.getReader();
    await reader.read();
    reader.releaseLock();
    return response.text();
  });
  await check("response from a stream", async () => {
    const encoder = new TextEncoder();
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode("one "));
        controller.enqueue(encoder.encode("two"));
        controller.close();
      },
    });
    const response = new Response(stream);
    return [response.headers.get("content-type"), await response.text(), response.bodyUsed];
  });
  await check("response stream of strings refused", async () => {
    const response = new Response(new ReadableStream({ start(controller) { controller.enqueue("text"); controller.close(); } }));
    return response.text();
  });
  await check("response clone", async () => {
    const response = new Response("twice", { status: 202 });
    const copy = response.clone();
    const streamed = new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([65])); c.close(); } }));
    const streamedCopy = streamed.clone();
    return [await response.text(), await copy.text(), copy.status, await streamed.text(), await streamedCopy.text()];
  });
  await check("response clone after read", async () => {
    const response = new Response("x");
    await response.text();
    return response.clone();
  });
  await check("response json of bad text", () => new Response("{").json());
  await check("response form data, url-encoded", async () => {
    const form = await new Response("a=1&b=x+y&a=2", { headers: { "content-type": "application/x-www-form-urlencoded" } }).formData();
    return [...form];
  });
  await check("response form data, multipart round trip", async () => {
    const form = new FormData();
    form.append("field", "value\nwith line");
    form.append("upload", new File(["file body"], "f.txt", { type: "text/plain" }));
    const response = new Response(form);
    const type = response.headers.get("content-type");
    const back = await response.formData();
    const upload = back.get("upload");
    return [type.startsWith("multipart/form-data; boundary="), back.get("field"), upload.name, upload.type, await upload.text()];
  });
  await check("response form data of text", () => new Response("x").formData());
  await check("fetch classes", () =>
    [Headers, Request, Response, Blob, File, FormData].map((Class) => [typeof Class, Class.name]));
}

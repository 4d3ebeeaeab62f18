// `fetch`: the standard function (a promise of a `Response` whose body streams in as it
// arrives), or aiwebengine's synchronous one when the engine runs with
// `--fetch-style aiwebengine`. Requests are checked and sent by Rust (fetch.rs); the
// network policy, the size cap and secrets are applied there. Evaluated last.
(function (host, shared) {
  "use strict";

  const { bytesOf, bytesToText } = shared;
  const SafeTypeError = TypeError;
  const SafeError = Error;
  const SafeUint8Array = Uint8Array;
  const SafePromise = Promise;
  const encoder = new shared.TextEncoder();
  // Kept now: a script may replace the globals later.
  const encode64 = globalThis.btoa;
  const SafeRequest = shared.Request;
  const SafeResponse = shared.Response;
  const { nullBodyStatus } = shared;

  // A failure of the request (not of the script's own code) as the standard reports it.
  const networkError = (error) => {
    const failure = new SafeTypeError(`fetch: ${error && error.message !== undefined ? error.message : String(error)}`);
    if (error && error.ferryStatus !== undefined) failure.ferryStatus = error.ferryStatus;
    return failure;
  };

  // The promise of what host call `id` settles with, or the signal's reason when the
  // signal aborts first.
  const settledOrAborted = (id, signal) => {
    const settled = host.awaitHostCall(id);
    if (signal === null) return settled;
    return new SafePromise((resolve, reject) => {
      const onAbort = () => {
        settled.catch(() => {});
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      settled.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  };

  // The body of answer `fetchId`, read from Rust a piece at a time as the script asks;
  // `done` runs once it is over (read, failed or cancelled).
  const bodyStream = (fetchId, signal, done) =>
    new shared.ReadableStream(
      {
        async pull(controller) {
          let state;
          try {
            state = await settledOrAborted(host.fetchRead(fetchId), signal);
          } catch (error) {
            done();
            controller.error(signal.aborted ? signal.reason : networkError(error));
            return;
          }
          if (state === "end") {
            done();
            controller.close();
          } else {
            controller.enqueue(host.fetchTake(fetchId));
          }
        },
        cancel() {
          done();
        },
      },
      { highWaterMark: 0 },
    );

  const withoutFragment = (url) => {
    const at = url.indexOf("#");
    return at < 0 ? url : url.slice(0, at);
  };

  async function send(request) {
    const signal = request.signal;
    signal.throwIfAborted();
    const holder = shared.bodyOf(request);
    let body;
    if (shared.holderHasBody(holder)) body = bytesToText(await shared.readBody(holder));
    const spec = JSON.stringify({
      method: request.method,
      url: request.url,
      headers: shared.headerList(request.headers),
      redirect: request.redirect,
    });
    const [call, fetchId] = host.fetchStart(spec, body);
    const onAbort = () => host.fetchClose(fetchId);
    signal.addEventListener("abort", onAbort, { once: true });
    // The request is over: its body is let go, and the signal no longer watched.
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      host.fetchClose(fetchId);
    };
    let head;
    try {
      head = JSON.parse(await settledOrAborted(call, signal));
    } catch (error) {
      done();
      throw signal.aborted ? signal.reason : networkError(error);
    }
    const empty = request.method === "HEAD" || nullBodyStatus.includes(head.status);
    if (empty) done();
    const stream = empty ? null : bodyStream(fetchId, signal, done);
    const url = head.redirected ? head.url : withoutFragment(request.url);
    return shared.fetchedResponse(head.status, head.statusText, head.headers, null, stream, url, head.redirected);
  }

  function fetch(input, init = undefined) {
    try {
      return send(new SafeRequest(input, init));
    } catch (error) {
      return SafePromise.reject(error);
    }
  }

  // aiwebengine's form: fetch(url, { method, headers, body, timeout }) returns, once the
  // whole answer is in, the JSON text of { status, ok, statusText, headers, body }.
  function fetchAndWait(url, options = undefined) {
    const settings = options === undefined || options === null ? {} : options;
    let href;
    try {
      href = new shared.URL(String(url)).href;
    } catch {
      throw new SafeTypeError(`fetch: ${JSON.stringify(String(url))} is not an absolute URL`);
    }
    const headers = [];
    if (settings.headers) {
      const given = settings.headers instanceof shared.Headers ? [...settings.headers] : Object.entries(settings.headers);
      for (const [name, value] of given) headers.push([String(name).toLowerCase(), String(value)]);
    }
    let body;
    if (settings.body !== undefined && settings.body !== null) {
      const bytes = typeof settings.body === "string" ? undefined : bytesOf(settings.body);
      body = bytesToText(bytes === undefined ? encoder.encode(String(settings.body)) : bytes);
    }
    const spec = JSON.stringify({
      method: String(settings.method ?? "GET").toUpperCase(),
      url: href,
      headers,
      redirect: "follow",
      timeout: settings.timeout === undefined ? undefined : Number(settings.timeout),
    });
    return host.fetchSync(spec, body);
  }

  // `export default { fetch(request, env, ctx) }`: every path the app does not register
  // otherwise, for every method, goes to `fetch` with a standard Request; its Response (or
  // the Response its promise settles with) is the answer.
  const exportMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  // The answer Ferry sends for `response`: a string body goes out as it is, other bodies
  // are read whole first.
  const answerOf = (response) => {
    const plain = shared.plainAnswer(response);
    if (plain !== undefined) return plain;
    if (!(response instanceof SafeResponse)) {
      throw new SafeTypeError(`export default { fetch }: fetch must return a Response (or a promise of one), not ${response === null ? "null" : typeof response}`);
    }
    const [status, list] = shared.responseHead(response);
    const answer = { status };
    // One content type alone (the common answer) needs no headers object.
    if (list.length === 1 && list[0][0] === "content-type") {
      answer.contentType = list[0][1];
    } else if (list.length > 0) {
      const headers = {};
      for (const [name, value] of list) {
        const known = headers[name];
        if (known === undefined) headers[name] = value;
        else if (name === "set-cookie") headers[name] = Array.isArray(known) ? [...known, value] : [known, value];
        else headers[name] = `${known}, ${value}`;
      }
      answer.headers = headers;
    }
    const holder = shared.bodyOf(response);
    if (!shared.holderHasBody(holder)) {
      answer.body = "";
      return answer;
    }
    if (holder.text !== null && holder.stream === null && !holder.used) {
      holder.used = true;
      answer.body = holder.text;
      return answer;
    }
    if (holder.stream !== null && !response.bodyUsed) {
      // Sent to the client as the stream produces it.
      const reader = holder.stream.getReader();
      holder.used = true;
      answer.bodyStream = host.bodyOpen();
      pump(answer.bodyStream, reader);
      return answer;
    }
    return response.bytes().then((bytes) => {
      answer.bodyBase64 = encode64(bytesToText(bytes));
      return answer;
    });
  };

  // Writes what `reader` reads to the streamed body `id`, waiting while the client is
  // behind, until the stream ends (the body ends), fails (the body is broken off, which
  // the client sees) or the client goes (the stream is cancelled).
  const pump = async (id, reader) => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          host.bodyEnd(id, null);
          return;
        }
        if (!(value instanceof SafeUint8Array)) {
          throw new SafeTypeError(`a response body stream must give Uint8Array chunks, not ${value === null ? "null" : typeof value}`);
        }
        let sent = host.bodyWrite(id, bytesToText(value));
        if (typeof sent === "number") sent = (await host.awaitHostCall(sent)) === "sent";
        if (!sent) {
          await reader.cancel(new SafeError("the client went away"));
          return;
        }
      }
    } catch (error) {
      console.error("a streamed response body failed:", error && error.stack ? error.stack : String(error));
      host.bodyEnd(id, String(error && error.message ? error.message : error));
      try {
        await reader.cancel(error);
      } catch {
        // The stream had failed already.
      }
    }
  };

  host.onFetchExport((exported, register) => {
    const env = {};
    const ctx = Object.freeze({
      waitUntil(promise) {
        SafePromise.resolve(promise).catch((error) => {
          console.error("a promise given to ctx.waitUntil failed:", error && error.stack ? error.stack : String(error));
        });
      },
      passThroughOnException() {},
    });
    // The handler of the route for `method`. The GET route also answers HEAD, so there
    // the request reads its method from Ferry's when asked; neither has a body.
    const serveFor = (method) => function fetchExport(context) {
      const request = method === "GET"
        ? shared.incomingRequest(null, context.request, false)
        : shared.incomingRequest(method, context.request, true);
      const result = exported.fetch(request, env, ctx);
      // A Response returned at once is answered at once, without a pending promise.
      const plain = shared.plainAnswer(result);
      if (plain !== undefined) return plain;
      if (result instanceof SafeResponse) return answerOf(result);
      return SafePromise.resolve(result).then(answerOf);
    };
    for (const method of exportMethods) register("/*", serveFor(method), method);
  });

  const chosen = host.fetchStyle === "aiwebengine" ? fetchAndWait : fetch;
  Object.defineProperty(chosen, "name", { value: "fetch" });
  shared.install({ fetch: chosen });
  return shared;
})

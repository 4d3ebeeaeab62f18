// The classes of the Fetch Standard and the File API: `Headers`, `Blob`, `File`,
// `FormData`, `Request` and `Response`, with bodies read whole (`text`, `json`,
// `arrayBuffer`, `bytes`, `blob`, `formData`) or as a `ReadableStream`. Form bodies are
// parsed in Rust (forms.rs). Evaluated after url.js.
(function (host, shared) {
  "use strict";

  const { bytesOf, bytesToText } = shared;
  const SafeTypeError = TypeError;
  const SafeRangeError = RangeError;
  const SafePromise = Promise;
  const SafeUint8Array = Uint8Array;
  const encoder = new shared.TextEncoder();
  const SafeURL = shared.URL;
  const SafeURLSearchParams = shared.URLSearchParams;
  const SafeAbortSignal = shared.AbortSignal;
  const resolved = (value) => SafePromise.resolve(value);
  const rejected = (error) => SafePromise.reject(error);

  const utf8 = (text) => encoder.encode(text);
  const decodeUtf8 = (bytes) => host.utf8Decode(bytesToText(bytes), false, false);
  const join = shared.joinBytes;
  const copyOf = (view) => new SafeUint8Array(view);

  // Headers ---------------------------------------------------------------------------

  const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const headerName = (name) => {
    name = String(name);
    if (!token.test(name)) throw new SafeTypeError(`Headers: ${JSON.stringify(name)} is not a valid header name`);
    return name.toLowerCase();
  };
  const headerValue = (value) => {
    value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
    if (/[\0\r\n]|[^\0-\xFF]/.test(value)) {
      throw new SafeTypeError(`Headers: ${JSON.stringify(value)} is not a valid header value`);
    }
    return value;
  };

  class Headers {
    // [lowercased name, value] in the order they were added.
    #list = [];
    #immutable = false;
    constructor(init = undefined) {
      if (init === undefined || init === null) return;
      if (typeof init !== "object" && typeof init !== "function") {
        throw new SafeTypeError("Headers: init must be a Headers, an array of pairs or an object");
      }
      if (init instanceof Headers) {
        for (const [name, value] of init.#list) this.#list.push([name, value]);
      } else if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          const list = Array.from(pair);
          if (list.length !== 2) throw new SafeTypeError("Headers: each pair must have exactly two items");
          this.append(list[0], list[1]);
        }
      } else {
        for (const name of Object.keys(init)) this.append(name, init[name]);
      }
    }
    static {
      shared.headerList = (headers) => headers.#list;
      // Headers of a request Ferry received: [lower-case name, value] pairs, as they are.
      shared.headersOf = (pairs) => {
        const headers = new Headers();
        headers.#list = pairs;
        return headers;
      };
      shared.freezeHeaders = (headers) => {
        headers.#immutable = true;
        return headers;
      };
    }
    #check() {
      if (this.#immutable) throw new SafeTypeError("Headers: these headers are immutable");
    }
    append(name, value) {
      this.#check();
      this.#list.push([headerName(name), headerValue(value)]);
    }
    delete(name) {
      this.#check();
      name = headerName(name);
      this.#list = this.#list.filter((pair) => pair[0] !== name);
    }
    get(name) {
      // A stored name is valid: the name is checked only when nothing matches.
      const lower = String(name).toLowerCase();
      let found = null;
      for (const pair of this.#list) {
        if (pair[0] === lower) found = found === null ? pair[1] : `${found}, ${pair[1]}`;
      }
      if (found === null) headerName(name);
      return found;
    }
    getSetCookie() {
      return this.#list.filter((pair) => pair[0] === "set-cookie").map((pair) => pair[1]);
    }
    has(name) {
      const lower = String(name).toLowerCase();
      for (const pair of this.#list) {
        if (pair[0] === lower) return true;
      }
      headerName(name);
      return false;
    }
    set(name, value) {
      this.#check();
      name = headerName(name);
      value = headerValue(value);
      const at = this.#list.findIndex((pair) => pair[0] === name);
      if (at < 0) {
        this.#list.push([name, value]);
        return;
      }
      this.#list[at] = [name, value];
      this.#list = this.#list.filter((pair, index) => index <= at || pair[0] !== name);
    }
    // Sorted by name, values of one name combined (`set-cookie` excepted), as iterated.
    #sorted() {
      const names = [...new Set(this.#list.map((pair) => pair[0]))].sort();
      const sorted = [];
      for (const name of names) {
        if (name === "set-cookie") {
          for (const value of this.getSetCookie()) sorted.push([name, value]);
        } else {
          sorted.push([name, this.get(name)]);
        }
      }
      return sorted;
    }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== "function") throw new SafeTypeError("Headers.forEach: the callback must be a function");
      for (const [name, value] of this.#sorted()) callback.call(thisArg, value, name, this);
    }
    keys() {
      return this.#sorted().map((pair) => pair[0])[Symbol.iterator]();
    }
    values() {
      return this.#sorted().map((pair) => pair[1])[Symbol.iterator]();
    }
    entries() {
      return this.#sorted()[Symbol.iterator]();
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    get [Symbol.toStringTag]() {
      return "Headers";
    }
  }

  // Blob and File ---------------------------------------------------------------------

  const blobType = (type) => {
    const text = type === undefined ? "" : String(type);
    return /^[\x20-\x7E]*$/.test(text) ? text.toLowerCase() : "";
  };

  class Blob {
    #bytes;
    #type;
    constructor(parts = undefined, options = undefined) {
      const chunks = [];
      if (parts !== undefined && parts !== null) {
        if (typeof parts !== "object" || typeof parts[Symbol.iterator] !== "function") {
          throw new SafeTypeError("Blob: the parts must be a sequence (an array, for example)");
        }
        const native = options && options.endings === "native";
        for (const part of parts) {
          if (part instanceof Blob) {
            chunks.push(part.#bytes);
          } else {
            const bytes = bytesOf(part);
            if (bytes !== undefined) {
              chunks.push(copyOf(bytes));
            } else {
              const text = String(part);
              chunks.push(utf8(native ? text.replace(/\r\n?/g, "\n") : text));
            }
          }
        }
      }
      this.#bytes = join(chunks);
      this.#type = blobType(options && options.type);
    }
    static {
      shared.blobBytes = (blob) => blob.#bytes;
      shared.blobOf = (bytes, type) => {
        const blob = new Blob();
        blob.#bytes = bytes;
        blob.#type = blobType(type);
        return blob;
      };
    }
    get size() {
      return this.#bytes.length;
    }
    get type() {
      return this.#type;
    }
    slice(start = undefined, end = undefined, contentType = undefined) {
      const size = this.#bytes.length;
      const clamp = (value, fallback) => {
        if (value === undefined) return fallback;
        const number = Math.trunc(Number(value)) || 0;
        return number < 0 ? Math.max(size + number, 0) : Math.min(number, size);
      };
      const from = clamp(start, 0);
      const to = clamp(end, size);
      return shared.blobOf(this.#bytes.slice(from, Math.max(from, to)), contentType);
    }
    text() {
      return resolved(decodeUtf8(this.#bytes));
    }
    arrayBuffer() {
      return resolved(this.#bytes.slice().buffer);
    }
    bytes() {
      return resolved(this.#bytes.slice());
    }
    stream() {
      return shared.streamOfBytes(this.#bytes.slice());
    }
    get [Symbol.toStringTag]() {
      return "Blob";
    }
  }

  class File extends Blob {
    #name;
    #lastModified;
    constructor(bits, name, options = undefined) {
      if (arguments.length < 2) throw new SafeTypeError("File: the parts and a name are required");
      super(bits, options);
      this.#name = String(name);
      this.#lastModified = options && options.lastModified !== undefined ? Number(options.lastModified) : Date.now();
    }
    get name() {
      return this.#name;
    }
    get lastModified() {
      return this.#lastModified;
    }
    get [Symbol.toStringTag]() {
      return "File";
    }
  }

  // FormData ---------------------------------------------------------------------------

  const formEntry = (name, value, filename, count) => {
    name = String(name);
    if (value instanceof Blob) {
      if (value instanceof File && count < 3) return [name, value];
      const fileName = count >= 3 && filename !== undefined ? String(filename) : value instanceof File ? value.name : "blob";
      const options = { type: value.type };
      if (value instanceof File) options.lastModified = value.lastModified;
      return [name, new File([value], fileName, options)];
    }
    if (count >= 3) throw new SafeTypeError("FormData: a file name is given only with a Blob");
    return [name, String(value)];
  };

  class FormData {
    #entries = [];
    constructor(form = undefined) {
      if (form !== undefined) throw new SafeTypeError("FormData: there are no form elements to read here");
    }
    static {
      shared.formEntries = (form) => form.#entries;
    }
    append(name, value, filename = undefined) {
      this.#entries.push(formEntry(name, value, filename, arguments.length));
    }
    delete(name) {
      name = String(name);
      this.#entries = this.#entries.filter((entry) => entry[0] !== name);
    }
    get(name) {
      name = String(name);
      const found = this.#entries.find((entry) => entry[0] === name);
      return found === undefined ? null : found[1];
    }
    getAll(name) {
      name = String(name);
      return this.#entries.filter((entry) => entry[0] === name).map((entry) => entry[1]);
    }
    has(name) {
      name = String(name);
      return this.#entries.some((entry) => entry[0] === name);
    }
    set(name, value, filename = undefined) {
      const entry = formEntry(name, value, filename, arguments.length);
      const at = this.#entries.findIndex((existing) => existing[0] === entry[0]);
      if (at < 0) {
        this.#entries.push(entry);
        return;
      }
      this.#entries[at] = entry;
      this.#entries = this.#entries.filter((existing, index) => index <= at || existing[0] !== entry[0]);
    }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== "function") throw new SafeTypeError("FormData.forEach: the callback must be a function");
      for (const [name, value] of this.#entries.slice()) callback.call(thisArg, value, name, this);
    }
    keys() {
      return this.#entries.map((entry) => entry[0])[Symbol.iterator]();
    }
    values() {
      return this.#entries.map((entry) => entry[1])[Symbol.iterator]();
    }
    entries() {
      return this.#entries.map((entry) => [entry[0], entry[1]])[Symbol.iterator]();
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    get [Symbol.toStringTag]() {
      return "FormData";
    }
  }

  // multipart/form-data, as browsers write it.
  const escapeField = (text) => text.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");
  const multipart = (form) => {
    const boundary = "----FerryFormBoundary" + shared.randomHex(12);
    const chunks = [];
    for (const [name, value] of shared.formEntries(form)) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeField(name.replace(/\r\n?|\n/g, "\r\n"))}"`;
      if (value instanceof File) {
        head += `; filename="${escapeField(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
        chunks.push(utf8(head), shared.blobBytes(value), utf8("\r\n"));
      } else {
        chunks.push(utf8(`${head}\r\n\r\n${value.replace(/\r\n?|\n/g, "\r\n")}\r\n`));
      }
    }
    chunks.push(utf8(`--${boundary}--\r\n`));
    return { bytes: join(chunks), type: `multipart/form-data; boundary=${boundary}` };
  };

  // Bodies ----------------------------------------------------------------------------

  // A body: text or bytes until someone asks for `body`, then a stream; `used` once read
  // whole. Text stays text until bytes are needed (a string answer goes out as it is).
  // Kept in a private field of each Request and Response (the classes below fill these
  // in): cheaper than a WeakMap on the path of every request.
  let requestBody = null;
  let responseBody = null;
  const holderOf = (object) => {
    const holder = requestBody(object) ?? responseBody(object);
    if (holder === undefined) throw new SafeTypeError("Illegal invocation");
    return holder;
  };

  // The body and its content type from what a script passed.
  const extractBody = (value) => {
    if (value === undefined || value === null) return { bytes: null, stream: null, type: null };
    if (typeof value === "string") return { bytes: null, text: value, stream: null, type: "text/plain;charset=UTF-8" };
    if (value instanceof Blob) return { bytes: shared.blobBytes(value), stream: null, type: value.type || null };
    if (value instanceof SafeURLSearchParams) {
      return { bytes: utf8(value.toString()), stream: null, type: "application/x-www-form-urlencoded;charset=UTF-8" };
    }
    if (value instanceof FormData) {
      const { bytes, type } = multipart(value);
      return { bytes, stream: null, type };
    }
    if (shared.isReadableStream(value)) {
      if (shared.streamLocked(value) || shared.streamDisturbed(value)) {
        throw new SafeTypeError("the body stream is locked or already read");
      }
      return { bytes: null, stream: value, type: null };
    }
    const bytes = bytesOf(value);
    if (bytes !== undefined) return { bytes: copyOf(bytes), stream: null, type: null };
    return { bytes: utf8(String(value)), stream: null, type: "text/plain;charset=UTF-8" };
  };

  const bodyUsed = (holder) => holder.used || (holder.stream !== null && shared.streamDisturbed(holder.stream));
  const holderOfBody = (extracted) => ({
    bytes: extracted.bytes,
    text: extracted.text ?? null,
    stream: extracted.stream,
    used: false,
  });
  // Text becomes bytes when bytes are asked for.
  const materialize = (holder) => {
    if (holder.text !== null) {
      holder.bytes = utf8(holder.text);
      holder.text = null;
    }
    return holder;
  };
  const holderHasBody = (holder) => holder.bytes !== null || holder.text !== null || holder.stream !== null;

  // Every byte of the body, once.
  const consume = async (holder) => {
    if (bodyUsed(holder)) throw new SafeTypeError("the body has already been read");
    materialize(holder);
    if (holder.stream === null) {
      holder.used = true;
      return holder.bytes === null ? new SafeUint8Array(0) : holder.bytes;
    }
    if (shared.streamLocked(holder.stream)) throw new SafeTypeError("the body stream is locked");
    const reader = holder.stream.getReader();
    const chunks = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(value instanceof SafeUint8Array)) {
        await reader.cancel();
        throw new SafeTypeError("a body stream must produce Uint8Array chunks");
      }
      chunks.push(value);
    }
    holder.used = true;
    return join(chunks);
  };

  const essence = (type) => (type === null ? "" : type.split(";")[0].trim().toLowerCase());

  const bodyMethods = {
    get body() {
      const holder = materialize(holderOf(this));
      if (holder.stream === null) {
        if (holder.bytes === null) return null;
        holder.stream = shared.streamOfBytes(holder.used ? new SafeUint8Array(0) : holder.bytes);
        holder.bytes = null;
      }
      return holder.stream;
    },
    get bodyUsed() {
      return bodyUsed(holderOf(this));
    },
    arrayBuffer() {
      return this.bytes().then((bytes) => (bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer));
    },
    bytes() {
      try {
        return consume(holderOf(this)).then((bytes) => bytes.slice());
      } catch (error) {
        return rejected(error);
      }
    },
    blob() {
      const type = this.headers.get("content-type") ?? "";
      return this.bytes().then((bytes) => shared.blobOf(bytes, type));
    },
    text() {
      try {
        return consume(holderOf(this)).then(decodeUtf8);
      } catch (error) {
        return rejected(error);
      }
    },
    json() {
      return this.text().then((text) => JSON.parse(text));
    },
    formData() {
      const type = this.headers.get("content-type");
      return this.bytes().then((bytes) => {
        const form = new FormData();
        const kind = essence(type);
        if (kind === "application/x-www-form-urlencoded") {
          for (const [name, value] of host.formParse(decodeUtf8(bytes))) form.append(name, value);
        } else if (kind === "multipart/form-data") {
          for (const [name, filename, partType, data] of host.multipartParse(bytesToText(bytes), type)) {
            if (filename === null || filename === undefined) {
              form.append(name, decodeUtf8(data));
            } else {
              form.append(name, new File([data], filename, { type: partType ?? "" }));
            }
          }
        } else {
          throw new SafeTypeError(`formData: a body of type ${JSON.stringify(type)} is not a form`);
        }
        return form;
      });
    },
  };
  const mixBody = (Class) => {
    for (const key of Reflect.ownKeys(bodyMethods)) {
      const descriptor = Object.getOwnPropertyDescriptor(bodyMethods, key);
      descriptor.enumerable = false;
      Object.defineProperty(Class.prototype, key, descriptor);
    }
  };
  const cloneBody = (holder) => {
    if (bodyUsed(holder)) throw new SafeTypeError("clone: the body has already been read");
    if (holder.stream !== null) {
      const [mine, theirs] = holder.stream.tee();
      holder.stream = mine;
      return { bytes: null, text: null, stream: theirs, used: false };
    }
    return { bytes: holder.bytes === null ? null : holder.bytes.slice(), text: holder.text, stream: null, used: false };
  };

  // Request ---------------------------------------------------------------------------

  const normalMethods = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
  const requestMethod = (method) => {
    method = String(method);
    if (!token.test(method)) throw new SafeTypeError(`Request: ${JSON.stringify(method)} is not a valid method`);
    const upper = method.toUpperCase();
    if (upper === "CONNECT" || upper === "TRACE" || upper === "TRACK") {
      throw new SafeTypeError(`Request: the method ${upper} is forbidden`);
    }
    return normalMethods.includes(upper) && upper !== "PATCH" ? upper : method;
  };
  const redirectModes = ["follow", "error", "manual"];

  const incoming = Symbol("incoming request");
  // The body of a received request that has one: read from `context.request` when asked for.
  const bodyInSource = Symbol("body in the source");

  class Request {
    // The body record; for a received request, null (no body) or `bodyInSource` until
    // the body is asked for.
    #body = null;
    // null for a received request until asked for (then read from its source).
    #method = null;
    // `context.request` of a request Ferry received; null for the others.
    #source = null;
    // { url, headers, signal, redirect }: null for a received request until one of them
    // is asked for (so that a handler that reads none of them makes none of them).
    #details = null;
    constructor(input, init = undefined) {
      if (input === incoming) return;
      if (arguments.length === 0) throw new SafeTypeError("Request: a URL or a Request is required");
      init = init === undefined || init === null ? {} : init;
      let source = null;
      let url;
      let redirect;
      if (input instanceof Request) {
        source = input;
        url = input.url;
        this.#method = input.method;
        redirect = input.redirect;
      } else {
        let parsed;
        try {
          parsed = new SafeURL(String(input));
        } catch {
          throw new SafeTypeError(`Request: ${JSON.stringify(String(input))} is not an absolute URL`);
        }
        if (parsed.username !== "" || parsed.password !== "") {
          throw new SafeTypeError("Request: a URL with credentials is not allowed; send them in a header");
        }
        url = parsed.href;
        this.#method = "GET";
        redirect = "follow";
      }
      if (init.method !== undefined) this.#method = requestMethod(init.method);
      if (init.redirect !== undefined) {
        if (!redirectModes.includes(String(init.redirect))) {
          throw new SafeTypeError(`Request: redirect must be "follow", "error" or "manual", not ${JSON.stringify(String(init.redirect))}`);
        }
        redirect = String(init.redirect);
      }
      if (init.signal !== undefined && init.signal !== null && !(init.signal instanceof SafeAbortSignal)) {
        throw new SafeTypeError("Request: signal must be an AbortSignal");
      }
      const signal = shared.newAbortSignal();
      const parentSignal = init.signal !== undefined ? init.signal : source ? source.signal : null;
      if (parentSignal) {
        if (parentSignal.aborted) {
          shared.abortSignal(signal, parentSignal.reason);
        } else {
          parentSignal.addEventListener("abort", () => shared.abortSignal(signal, parentSignal.reason), { once: true });
        }
      }
      const headers = new Headers(init.headers !== undefined ? init.headers : source ? source.headers : undefined);
      this.#details = { url, headers, signal, redirect };
      const hasBody = init.body !== undefined && init.body !== null;
      if ((this.#method === "GET" || this.#method === "HEAD") && (hasBody || (init.body === undefined && source && holderHasBody(holderOf(source))))) {
        throw new SafeTypeError(`Request: a ${this.#method} request cannot have a body`);
      }
      let holder;
      if (init.body !== undefined) {
        const extracted = extractBody(init.body);
        holder = holderOfBody(extracted);
        const type = extracted.type;
        if (type !== null && !headers.has("content-type")) headers.append("content-type", type);
      } else if (source) {
        const from = holderOf(source);
        if (bodyUsed(from)) throw new SafeTypeError("Request: the source request's body has already been read");
        holder = { bytes: from.bytes, text: from.text, stream: from.stream, used: false };
        if (holderHasBody(from)) {
          from.used = true;
        }
      } else {
        holder = { bytes: null, text: null, stream: null, used: false };
      }
      this.#body = holder;
    }
    static {
      requestBody = (object) => {
        if (!(#body in object)) return undefined;
        const body = object.#body;
        if (body !== null && body !== bodyInSource) return body;
        const holder = { bytes: body === null ? null : object.#source.rawBody, text: null, stream: null, used: false };
        object.#body = holder;
        return holder;
      };
      // A request Ferry received: `method` (null to read it from `source` when asked for),
      // `source` its `context.request`, `hasBody` whether its method may carry a body.
      shared.incomingRequest = (method, source, hasBody) => {
        const request = new Request(incoming);
        request.#method = method;
        request.#source = source;
        if (hasBody) request.#body = bodyInSource;
        return request;
      };
    }
    // The details of a received request, made when first asked for. (Static: an
    // instance's private method would cost every instance a brand.)
    static #detailsOf(request) {
      let details = request.#details;
      if (details === null) {
        details = { url: null, headers: null, signal: null, redirect: "follow" };
        request.#details = details;
      }
      return details;
    }
    get url() {
      const details = Request.#detailsOf(this);
      if (details.url === null) details.url = urlOf(this.#source);
      return details.url;
    }
    get method() {
      if (this.#method === null) this.#method = this.#source.method;
      return this.#method;
    }
    get headers() {
      const details = Request.#detailsOf(this);
      if (details.headers === null) details.headers = shared.headersOf(Object.entries(this.#source.headers));
      return details.headers;
    }
    get signal() {
      const details = Request.#detailsOf(this);
      if (details.signal === null) details.signal = shared.newAbortSignal();
      return details.signal;
    }
    get redirect() {
      return this.#details === null ? "follow" : this.#details.redirect;
    }
    get cache() { return "default"; }
    get credentials() { return "same-origin"; }
    get destination() { return ""; }
    get integrity() { return ""; }
    get keepalive() { return false; }
    get mode() { return "cors"; }
    get referrer() { return "about:client"; }
    get referrerPolicy() { return ""; }
    clone() {
      const copy = new Request(this.url, {
        method: this.method,
        headers: this.headers,
        redirect: this.redirect,
        signal: this.signal,
      });
      copy.#body = cloneBody(holderOf(this));
      return copy;
    }
    get [Symbol.toStringTag]() {
      return "Request";
    }
  }
  mixBody(Request);

  // Response --------------------------------------------------------------------------

  const nullBodyStatus = [101, 103, 204, 205, 304];
  shared.nullBodyStatus = nullBodyStatus;
  // Passed as the body to make a Response without the constructor's general path (its
  // fields are then set by the caller).
  const bare = Symbol("bare response");
  const redirectStatus = [301, 302, 303, 307, 308];

  // What few responses have (a made one's metadata): kept together, absent (null) for the
  // usual response, so that making one sets four fields, not seven.
  const defaultMeta = Object.freeze({ statusText: "", type: "default", url: "", redirected: false });

  class Response {
    // The body record, or a text body alone until the body is asked for.
    #body;
    #status = 200;
    // A Headers, or the lone content type of a response made without headers (such as
    // Response.json(data) or new Response(text)) until the headers are asked for.
    #headers;
    #meta = null;
    constructor(body = null, init = undefined) {
      if (body === bare) return;
      init = init === undefined || init === null ? {} : init;
      if (init.status !== undefined) {
        const status = Number(init.status);
        if (!Number.isInteger(status) || status < 200 || status > 599) {
          throw new SafeRangeError(`Response: the status must be an integer from 200 to 599, not ${String(init.status)}`);
        }
        this.#status = status;
      }
      if (init.statusText !== undefined) {
        const text = String(init.statusText);
        if (!/^[\t\x20-\x7E\x80-\xFF]*$/.test(text)) throw new SafeTypeError("Response: the status text is not a valid reason phrase");
        this.#meta = { ...defaultMeta, statusText: text };
      }
      const extracted = extractBody(body);
      const holder = holderOfBody(extracted);
      if (holderHasBody(holder) && nullBodyStatus.includes(this.#status)) {
        throw new SafeTypeError(`Response: a ${this.#status} response cannot have a body`);
      }
      if (init.headers === undefined && extracted.type !== null) {
        // The body's type alone: a Headers only if asked for.
        this.#headers = extracted.type;
      } else {
        this.#headers = new Headers(init.headers);
        if (extracted.type !== null && !this.#headers.has("content-type")) this.#headers.append("content-type", extracted.type);
      }
      // Text stays a string until the body is asked for.
      this.#body = typeof body === "string" ? body : holder;
    }
    // The headers of `response` as a Headers, made now if they were a lone content type.
    // (Static: an instance's private method would cost every instance a brand.)
    static #headerObject(response) {
      const headers = response.#headers;
      if (typeof headers !== "string") return headers;
      const made = shared.headersOf([["content-type", headers]]);
      response.#headers = made;
      return made;
    }
    static {
      responseBody = (object) => {
        if (!(#body in object)) return undefined;
        const body = object.#body;
        if (typeof body !== "string") return body;
        const holder = { bytes: null, text: body, stream: null, used: false };
        object.#body = holder;
        return holder;
      };
      // What `export default { fetch }` answers with (fetch.js): status and header list.
      shared.responseHead = (response) => [response.#status, shared.headerList(Response.#headerObject(response))];
      // The answer Ferry sends for a response that is a status, a lone content type and
      // text never read (what Response.json(data) and new Response(text) make, unless
      // their headers were touched): { status, contentType, body },
      // the body now used; undefined for any other response (or any other value).
      shared.plainAnswer = (response) => {
        if (typeof response !== "object" || response === null || !(#body in response)) return undefined;
        const text = response.#body;
        const contentType = response.#headers;
        if (typeof text !== "string" || typeof contentType !== "string") return undefined;
        response.#body = { bytes: null, text: null, stream: null, used: true };
        return { status: response.#status, contentType, body: text };
      };
    }
    static {
      // A response Ferry makes (`fetch`): its URL, whether redirects led there, its own
      // status (any from 100 to 599) and headers that scripts cannot change.
      shared.fetchedResponse = (status, statusText, headerPairs, bytes, stream, url, redirected) => {
        const response = new Response();
        response.#status = status;
        response.#meta = { statusText, type: "basic", url, redirected };
        const headers = new Headers();
        for (const [name, value] of headerPairs) shared.headerList(headers).push([name, value]);
        response.#headers = shared.freezeHeaders(headers);
        response.#body = { bytes, text: null, stream, used: false };
        return response;
      };
    }
    static error() {
      const response = new Response();
      response.#status = 0;
      response.#meta = { ...defaultMeta, type: "error" };
      shared.freezeHeaders(response.#headers);
      return response;
    }
    static redirect(url, status = 302) {
      let parsed;
      try {
        parsed = new SafeURL(String(url));
      } catch {
        throw new SafeTypeError(`Response.redirect: ${JSON.stringify(String(url))} is not an absolute URL`);
      }
      status = Number(status);
      if (!redirectStatus.includes(status)) {
        throw new SafeRangeError(`Response.redirect: ${status} is not a redirect status (301, 302, 303, 307, 308)`);
      }
      const response = new Response(null);
      response.#status = status;
      response.#headers.set("location", parsed.href);
      shared.freezeHeaders(response.#headers);
      return response;
    }
    static json(data, init = undefined) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new SafeTypeError("Response.json: the value cannot be written as JSON");
      if (init === undefined || init === null) {
        // The common case, without the general path's checks: one header, a text body,
        // each made into its object only if asked for.
        const response = new Response(bare);
        response.#headers = "application/json";
        response.#body = text;
        return response;
      }
      const options = init;
      const response = new Response(text, { status: options.status, statusText: options.statusText, headers: options.headers });
      if (typeof response.#headers === "string") {
        response.#headers = "application/json";
      } else if (response.#headers.get("content-type") === "text/plain;charset=UTF-8") {
        response.#headers.set("content-type", "application/json");
      }
      return response;
    }
    get status() { return this.#status; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get statusText() { return (this.#meta ?? defaultMeta).statusText; }
    get headers() { return Response.#headerObject(this); }
    get type() { return (this.#meta ?? defaultMeta).type; }
    get url() { return (this.#meta ?? defaultMeta).url; }
    get redirected() { return (this.#meta ?? defaultMeta).redirected; }
    clone() {
      const copy = new Response(null);
      copy.#status = this.#status;
      copy.#meta = this.#meta;
      copy.#headers = new Headers(Response.#headerObject(this));
      if (this.type !== "default") shared.freezeHeaders(copy.#headers);
      copy.#body = cloneBody(holderOf(this));
      return copy;
    }
    get [Symbol.toStringTag]() {
      return "Response";
    }
  }
  mixBody(Response);

  shared.bodyOf = holderOf;
  shared.holderHasBody = holderHasBody;
  // The URL of a request Ferry received, from its `Host`, its target and, for the scheme,
  // `X-Forwarded-Proto`.
  const urlOf = (source) => {
    const headers = source.headers;
    const forwarded = headers["x-forwarded-proto"];
    const scheme = forwarded === "https" || forwarded === "http" ? forwarded : "http";
    return `${scheme}://${headers.host ?? "localhost"}${source.target}`;
  };
  shared.readBody = consume;

  const globals = { Headers, Blob, File, FormData, Request, Response };
  shared.Request = Request;
  shared.Response = Response;
  shared.Headers = Headers;
  shared.install(globals);
  return shared;
})

// Ferry's script API, evaluated in every script's context before the script itself.
// `host` holds the Rust functions behind the API and `internal` the engine's bookkeeping;
// scripts see only the globals defined at the end.
(function (host, internal) {
  "use strict";

  const handlers = internal.handlers;

  // `context.request.auth` until authentication arrives: nobody is signed in.
  internal.auth = Object.freeze({
    isAuthenticated: false,
    isAdmin: false,
    isEditor: false,
    userId: null,
    userEmail: null,
    userName: null,
    provider: null,
    user: null,
    requireAuth() {
      const error = new Error("authentication required");
      error.ferryStatus = 401;
      throw error;
    },
  });

  // The handler's argument. The fields of `context.request` are built on their first read
  // by a function of Rust (see bindings/context.rs), called with the field's index in
  // `requestFields` (the order of `RequestField`).
  const buildField = Symbol("buildField");
  const requestFields = ["path", "method", "headers", "query", "params", "form", "body", "files"];
  const own = (target, name, value) =>
    Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
  const requestPrototype = {
    get auth() {
      return internal.auth;
    },
    set auth(value) {
      own(this, "auth", value);
    },
    toJSON() {
      const plain = {};
      for (const name of requestFields) plain[name] = this[name];
      plain.auth = this.auth;
      return plain;
    },
  };
  requestFields.forEach((name, index) => {
    Object.defineProperty(requestPrototype, name, {
      get() {
        return this[buildField](this, index);
      },
      set(value) {
        own(this, name, value);
      },
    });
  });
  Object.freeze(requestPrototype);
  internal.context = (build, invocationId, kind = "httpRoute") => ({
    request: { __proto__: requestPrototype, [buildField]: build },
    kind,
    invocationId,
  });

  function register(path, handler, method = "GET", metadata = undefined) {
    if (typeof handler !== "function" && typeof handler !== "string") {
      throw new TypeError(
        `register(${JSON.stringify(path)}, handler): the handler must be a function or the name of a global function, not ${typeof handler}`,
      );
    }
    const name = typeof handler === "function" ? handler.name || "anonymous" : handler;
    const label = host.register(String(path), String(method), name);
    handlers.push(handler);
    void metadata;
    return label;
  }

  // Server-Sent Events: a stream's optional customizer returns each connection's metadata,
  // which filtered messages are matched against (see bindings/streams.rs).
  function registerStream(path, customizer = undefined, metadata = undefined) {
    const customized = customizer !== undefined && customizer !== null;
    if (customized && typeof customizer !== "function" && typeof customizer !== "string") {
      throw new TypeError(
        `registerStreamRoute(${JSON.stringify(path)}, customizer): the customizer must be a function or the name of a global function, not ${typeof customizer}`,
      );
    }
    const name = !customized ? null : typeof customizer === "function" ? customizer.name || "anonymous" : customizer;
    const label = host.registerStream(String(path), name);
    handlers.push(customized ? customizer : null);
    void metadata;
    return label;
  }

  const messageText = (data) => (typeof data === "string" ? data : JSON.stringify(data) ?? String(data));
  const filterText = (filter) => (typeof filter === "string" ? filter : JSON.stringify(filter ?? {}));
  const sendToPath = (path, data) => host.streamSend(String(path), messageText(data), undefined, undefined);

  const routeRegistry = Object.freeze({
    registerRoute: (path, handler, method = "GET", metadata = undefined) =>
      register(path, handler, method, metadata),
    registerStreamRoute: (path, customizer = undefined, metadata = undefined) =>
      registerStream(path, customizer, metadata),
    sendStreamMessage: sendToPath,
    sendStreamMessageFiltered: (path, data, filter = {}, mode = "subset") =>
      host.streamSend(String(path), messageText(data), filterText(filter), String(mode)),
  });

  function inspect(value) {
    if (value instanceof Error) {
      return value.stack ? `${value.name}: ${value.message}\n${value.stack}` : String(value);
    }
    if (typeof value === "function") return `[function ${value.name || "anonymous"}]`;
    try {
      const text = JSON.stringify(value);
      return text === undefined ? String(value) : text;
    } catch {
      return String(value);
    }
  }

  const format = (args) => args.map((arg) => (typeof arg === "string" ? arg : inspect(arg))).join(" ");
  const logger = (level) => (...args) => host.log(level, format(args));
  const console = Object.freeze({
    log: logger("info"),
    info: logger("info"),
    warn: logger("warn"),
    error: logger("error"),
    debug: logger("debug"),
    trace: logger("trace"),
  });

  function writeLog(message) {
    host.log("info", typeof message === "string" ? message : inspect(message));
    return "logged";
  }

  const ResponseBuilder = Object.freeze({
    json: (data, status = 200) => ({ status, body: JSON.stringify(data), contentType: "application/json" }),
    text: (text, status = 200) => ({ status, body: String(text), contentType: "text/plain; charset=UTF-8" }),
    html: (html, status = 200) => ({ status, body: String(html), contentType: "text/html; charset=UTF-8" }),
    error: (status, message) => ({
      status,
      body: JSON.stringify({ error: String(message) }),
      contentType: "application/json",
    }),
    noContent: () => ({ status: 204 }),
    redirect: (url, status = 302) => ({ status, headers: { Location: String(url) } }),
  });

  const sharedStorage = Object.freeze({
    getItem: (key) => host.storageGet(String(key)) ?? null,
    setItem: (key, value) => host.storageSet(String(key), String(value)),
    removeItem: (key) => host.storageRemove(String(key)),
    clear: () => host.storageClear(),
  });

  const convert = Object.freeze({
    markdown_to_html: (markdown) => host.markdown(String(markdown)),
    render_handlebars_template: (template, data = {}) =>
      host.handlebars(String(template), typeof data === "string" ? data : JSON.stringify(data)),
    btoa: (text) => host.btoa(String(text)),
    atob: (text) => host.atob(String(text)),
  });

  // Timers: callbacks live here, the schedule in Rust, which calls `internal.fire(id)`.
  const timers = new Map();
  let nextTimer = 1;

  function schedule(callback, delay, args, repeat) {
    if (typeof callback !== "function") {
      throw new TypeError("the timer callback must be a function");
    }
    const ms = Math.max(0, Number(delay) || 0);
    const id = nextTimer++;
    timers.set(id, { callback, args, repeat: repeat ? Math.max(1, ms) : 0 });
    host.schedule(id, ms);
    return id;
  }

  internal.fire = function (id) {
    const timer = timers.get(id);
    if (timer === undefined) return;
    if (timer.repeat) {
      host.schedule(id, timer.repeat);
    } else {
      timers.delete(id);
    }
    timer.callback(...timer.args);
  };

  const setTimeout = (callback, delay = 0, ...args) => schedule(callback, delay, args, false);
  const setInterval = (callback, delay = 0, ...args) => schedule(callback, delay, args, true);
  const clearTimeout = (id) => void timers.delete(id);
  const queueMicrotask = (callback) => {
    if (typeof callback !== "function") throw new TypeError("queueMicrotask needs a function");
    Promise.resolve().then(() => callback());
  };

  const decode = (text) => decodeURIComponent(text.replace(/\+/g, " "));
  const encode = (text) =>
    encodeURIComponent(text).replace(/%20/g, "+").replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

  class URLSearchParams {
    #pairs = [];
    constructor(init = "") {
      if (typeof init === "string") {
        for (const part of init.replace(/^\?/, "").split("&")) {
          if (part === "") continue;
          const at = part.indexOf("=");
          const key = at < 0 ? part : part.slice(0, at);
          const value = at < 0 ? "" : part.slice(at + 1);
          this.#pairs.push([decode(key), decode(value)]);
        }
      } else if (init && typeof init[Symbol.iterator] === "function") {
        for (const [key, value] of init) this.#pairs.push([String(key), String(value)]);
      } else if (init && typeof init === "object") {
        for (const key of Object.keys(init)) this.#pairs.push([key, String(init[key])]);
      }
    }
    get size() { return this.#pairs.length; }
    append(key, value) { this.#pairs.push([String(key), String(value)]); }
    delete(key) { this.#pairs = this.#pairs.filter(([k]) => k !== String(key)); }
    get(key) {
      const found = this.#pairs.find(([k]) => k === String(key));
      return found === undefined ? null : found[1];
    }
    getAll(key) { return this.#pairs.filter(([k]) => k === String(key)).map(([, v]) => v); }
    has(key) { return this.#pairs.some(([k]) => k === String(key)); }
    set(key, value) {
      const at = this.#pairs.findIndex(([k]) => k === String(key));
      if (at < 0) {
        this.append(key, value);
        return;
      }
      this.#pairs[at] = [String(key), String(value)];
      this.#pairs = this.#pairs.filter(([k], i) => i <= at || k !== String(key));
    }
    sort() { this.#pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)); }
    forEach(callback, self) { for (const [k, v] of this.#pairs) callback.call(self, v, k, this); }
    keys() { return this.#pairs.map(([k]) => k)[Symbol.iterator](); }
    values() { return this.#pairs.map(([, v]) => v)[Symbol.iterator](); }
    entries() { return this.#pairs.map((pair) => [...pair])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this.#pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&"); }
  }

  const api = {
    register,
    routeRegistry,
    registerWebStream: (path) => registerStream(path),
    sendStreamMessage: (data) => host.streamSend(undefined, messageText(data), undefined, undefined),
    sendStreamMessageToPath: sendToPath,
    writeLog,
    console,
    ResponseBuilder,
    sharedStorage,
    convert,
    btoa: convert.btoa,
    atob: convert.atob,
    setTimeout,
    setInterval,
    clearTimeout,
    clearInterval: clearTimeout,
    queueMicrotask,
    URLSearchParams,
  };
  for (const [name, value] of Object.entries(api)) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
})

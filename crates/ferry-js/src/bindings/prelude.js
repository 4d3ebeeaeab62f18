// Ferry's script API, evaluated in every script's context before the script itself.
// `host` holds the Rust functions behind the API and `internal` the engine's bookkeeping;
// scripts see only the globals defined at the end. Neither object is reachable from a
// script, and the code that runs when Ferry dispatches to a script (context building,
// socket events, timers, settling promises) uses only the built-ins captured here, before
// any script ran: a script (or a library it imports) that replaces `Array.prototype.push`,
// `Map.prototype.get` or `Error` cannot change how its requests are dispatched.
(function (host, internal) {
  "use strict";

  const uncurry = Function.prototype.bind.bind(Function.prototype.call);
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const mapGet = uncurry(Map.prototype.get);
  const mapSet = uncurry(Map.prototype.set);
  const mapDelete = uncurry(Map.prototype.delete);
  const weakGet = uncurry(WeakMap.prototype.get);
  const weakSet = uncurry(WeakMap.prototype.set);
  const SafeError = Error;
  const SafePromise = Promise;
  const stringify = JSON.stringify;

  const handlers = internal.handlers;
  // Appends without `Array.prototype.push` (replaceable) or a plain index write (which a
  // setter on `Array.prototype` could catch).
  const addHandler = (handler) =>
    defineProperty(handlers, handlers.length, { value: handler, writable: false, enumerable: true, configurable: false });

  // `context.request.auth`: aiwebengine's fields, and its specification's `role`,
  // `currentUser()`, `requireEditor()` and `requireAdmin()`. The data comes from Rust (the
  // identity the pipeline attached), or `null` for an anonymous request.
  const refuse = (status, message) => {
    const error = new Error(message);
    error.ferryStatus = status;
    throw error;
  };
  const noGroups = freeze([]);
  const anonymous = freeze({
    isAuthenticated: false,
    isAdmin: false,
    isEditor: false,
    userId: null,
    userEmail: null,
    userName: null,
    provider: null,
    role: "anonymous",
    groups: noGroups,
    user: null,
    currentUser() {
      return null;
    },
    canManageScript() {
      return false;
    },
    requireAuth() {
      return refuse(401, "authentication required");
    },
    requireEditor() {
      return refuse(401, "authentication required");
    },
    requireAdmin() {
      return refuse(401, "authentication required");
    },
  });
  const makeAuth = (data) => {
    if (data === null) return anonymous;
    const { userId, userEmail, userName, provider, role } = data;
    const groups = freeze(data.groups);
    const isAdmin = role === "administrator";
    const isEditor = isAdmin || role === "editor";
    const user = freeze({ id: userId, email: userEmail, name: userName, provider, role, groups, isAuthenticated: true, isAdmin, isEditor });
    return freeze({
      isAuthenticated: true,
      isAdmin,
      isEditor,
      userId,
      userEmail,
      userName,
      provider,
      role,
      groups,
      user,
      currentUser() {
        return user;
      },
      canManageScript(uri) {
        return isEditor && host.canManageScript(String(uri), userId, role, groups);
      },
      requireAuth() {
        return user;
      },
      requireEditor() {
        return isEditor ? user : refuse(403, "the editor role is required");
      },
      requireAdmin() {
        return isAdmin ? user : refuse(403, "the administrator role is required");
      },
    });
  };

  // The request being handled, for the global `auth` and `personalStorage`, with the
  // builder Ferry made its fields with. Every entry into the script sets them — a handler's
  // call (when its context is made), a WebSocket event (the socket's request), a timer (the
  // request that set it), a host call's answer (the request that made it) — and Ferry
  // clears them when the entry and the promise jobs it queued are done (`internal.leave`):
  // the code after an `await` runs in the request whose event resumed it, and outside any
  // request `auth` is anonymous. Both are out of every script's reach, so a script cannot
  // pass its caller off as someone else.
  let currentRequest = null;
  let currentBuild = null;
  const enter = (request, build) => {
    currentRequest = request;
    currentBuild = build;
  };
  internal.leave = () => {
    currentRequest = null;
    currentBuild = null;
  };
  // Each request's identity, made on first use and kept (weakly) with the request.
  const attached = new WeakMap();
  const currentAuth = () => {
    if (currentRequest === null) return anonymous;
    let auth = weakGet(attached, currentRequest);
    if (auth === undefined) {
      auth = currentBuild === null ? anonymous : makeAuth(currentBuild(currentRequest, authField));
      weakSet(attached, currentRequest, auth);
    }
    return auth;
  };
  // The caller of a GraphQL resolver or an MCP handler, as `context.request`.
  internal.caller = (data) => {
    const auth = makeAuth(data);
    const request = { auth };
    weakSet(attached, request, auth);
    enter(request, null);
    return request;
  };

  // The handler's argument. The fields of `context.request` are built on their first read
  // by a function of Rust (see bindings/context.rs), called with the field's index in
  // `requestFields` (the order of `RequestField`).
  const buildField = Symbol("buildField");
  const requestFields = ["path", "method", "headers", "query", "params", "form", "body", "files", "ip", "target", "rawBody"];
  // What JSON.stringify(context.request) shows: aiwebengine's fields.
  const jsonFields = ["path", "method", "headers", "query", "params", "form", "body", "files", "ip"];
  const own = (target, name, value) =>
    Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
  const authField = requestFields.length;
  const requestPrototype = {
    get auth() {
      const auth =
        this === currentRequest ? currentAuth() : this[buildField] ? makeAuth(this[buildField](this, authField)) : anonymous;
      own(this, "auth", auth);
      return auth;
    },
    set auth(value) {
      own(this, "auth", value);
    },
    toJSON() {
      const plain = {};
      for (const name of jsonFields) plain[name] = this[name];
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
  freeze(requestPrototype);
  internal.context = (build, invocationId, kind = "httpRoute") => {
    const request = { __proto__: requestPrototype, [buildField]: build };
    // `enter`, written out: this runs for every request.
    currentRequest = request;
    currentBuild = build;
    return { request, kind, invocationId };
  };

  function register(path, handler, method = "GET", metadata = undefined) {
    if (typeof handler !== "function" && typeof handler !== "string") {
      throw new TypeError(
        `register(${JSON.stringify(path)}, handler): the handler must be a function or the name of a global function, not ${typeof handler}`,
      );
    }
    const name = typeof handler === "function" ? handler.name || "anonymous" : handler;
    // `{ allowCrossSite: true }`: state-changing requests from other sites keep their
    // signed-in user (a webhook, a form posted from elsewhere); by default only the site's
    // own pages act for a user whose cookie is all the request carries.
    const crossSite = metadata !== null && typeof metadata === "object" && metadata.allowCrossSite === true;
    const label = host.register(String(path), String(method), name, crossSite);
    addHandler(handler);
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
    addHandler(customized ? customizer : null);
    void metadata;
    return label;
  }

  // An asset served by Ferry at `path` (see asset_routes.rs): no handler runs, so its slot
  // in the handler list stays empty.
  function registerAssetRoute(path, asset, metadata = undefined) {
    const label = host.registerAsset(String(path), String(asset));
    addHandler(null);
    void metadata;
    return label;
  }

  // WebSockets: `handlers` holds `{ open, message, close }`; every event of a socket runs
  // on the worker that owns it (see sockets.rs), so the socket's object lives here.
  function registerWebSocketRoute(path, socketHandlers, metadata = undefined) {
    if (socketHandlers === null || typeof socketHandlers !== "object") {
      throw new TypeError(
        `registerWebSocketRoute(${JSON.stringify(path)}, handlers): handlers must be an object such as { open(socket, context) {}, message(socket, data) {}, close(socket, code, reason) {} }`,
      );
    }
    for (const name of ["open", "message", "close"]) {
      const handler = socketHandlers[name];
      if (handler !== undefined && typeof handler !== "function" && typeof handler !== "string") {
        throw new TypeError(`the ${name} handler of WebSocket ${JSON.stringify(path)} must be a function or the name of a global function`);
      }
    }
    const label = host.registerWebSocket(String(path));
    addHandler(freeze({ path: String(path), open: socketHandlers.open, message: socketHandlers.message, close: socketHandlers.close }));
    void metadata;
    return label;
  }

  // A message for Rust: [text, false], or binary data as [one char per byte, true].
  const bytesToText = (bytes) => {
    let text = "";
    for (let at = 0; at < bytes.length; at += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(at, at + 0x8000));
    }
    return text;
  };
  const socketFrame = (data) =>
    typeof data === "string"
      ? [data, false]
      : data instanceof ArrayBuffer
        ? [bytesToText(new Uint8Array(data)), true]
        : ArrayBuffer.isView(data)
          ? [bytesToText(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), true]
          : [JSON.stringify(data) ?? String(data), false];

  class WebSocketConnection {
    #id;
    constructor(id, path, request) {
      this.#id = id;
      this.id = id;
      this.path = path;
      this.request = request;
      this.data = {};
    }
    send(data) {
      return host.socketSend(this.#id, ...socketFrame(data));
    }
    close(code = 1000, reason = "") {
      return host.socketClose(this.#id, Number(code), String(reason));
    }
    broadcast(data) {
      return host.socketPublish(this.path, ...socketFrame(data), undefined, undefined, this.#id);
    }
  }

  const sockets = new Map();
  // The request that opened each socket, and its builder: its events run in that request.
  const socketCallers = new Map();
  const callHandler = (handler, args) =>
    typeof handler === "function"
      ? apply(handler, undefined, args)
      : typeof handler === "string"
        ? apply(globalThis[handler], undefined, args)
        : undefined;
  internal.socketEvent = (index, id, event, payload, extra) => {
    const entry = handlers[index];
    if (event === "open") {
      const socket = new WebSocketConnection(id, entry.path, payload.request);
      mapSet(sockets, id, socket);
      mapSet(socketCallers, id, freeze({ request: currentRequest, build: currentBuild }));
      return callHandler(entry.open, [socket, payload]);
    }
    const socket = mapGet(sockets, id);
    if (socket === undefined) return undefined;
    const caller = mapGet(socketCallers, id);
    enter(caller.request, caller.build);
    if (event === "message") return callHandler(entry.message, [socket, payload]);
    mapDelete(sockets, id);
    mapDelete(socketCallers, id);
    return callHandler(entry.close, [socket, payload, extra]);
  };

  const sendWebSocketMessage = (path, data) =>
    host.socketPublish(String(path), ...socketFrame(data), undefined, undefined, undefined);

  // GraphQL: each field's resolver is kept in `handlers` like a route handler and called
  // with `context.args` (see graphql.rs); the schema is rebuilt from every script's fields.
  function registerGraphQL(kind, name, sdl, resolver, visibility = undefined) {
    if (typeof resolver !== "function" && typeof resolver !== "string") {
      throw new TypeError(
        `registering GraphQL ${kind} ${JSON.stringify(name)}: the resolver must be a function or the name of a global function, not ${typeof resolver}`,
      );
    }
    const label = host.registerGraphQL(kind, String(name), String(sdl), typeof resolver === "function" ? resolver.name || "anonymous" : resolver);
    addHandler(resolver);
    void visibility;
    return label;
  }

  // A subscription message is the field's value (JSON text is read as JSON for object types).
  const publish = (name, data, filter, mode) =>
    host.graphqlPublish(String(name), JSON.stringify(data) ?? "null", filter, mode);

  // `export default { fetch }`: fetch.js turns the object into routes of every path.
  let serveFetch = null;
  host.onFetchExport = (serve) => {
    serveFetch = serve;
  };
  internal.serveFetchExport = (exported) => {
    if (serveFetch === null) host.loadWeb();
    return serveFetch(exported, register);
  };

  // `BroadcastChannel` messages, handed over by the worker through `internal.channel` to
  // the deliverer events.js sets.
  let channelDeliver = null;
  host.onChannelMessage = (deliver) => {
    channelDeliver = deliver;
  };
  internal.channel = (name, data, sender) => {
    enter(null, null);
    if (channelDeliver !== null) channelDeliver(name, data, sender);
  };

  // aiwebengine's dispatcher: each script's listener for a message type gets the message
  // (once per node), with `context.args = { type, data }`.
  const dispatcher = Object.freeze({
    registerListener: (type, handler) => {
      if (typeof handler !== "function" && typeof handler !== "string") {
        throw new TypeError("dispatcher.registerListener: the handler must be a function or the name of a global function");
      }
      const label = host.registerListener(String(type), typeof handler === "function" ? handler.name || "anonymous" : handler);
      addHandler(handler);
      return label;
    },
    sendMessage: (type, data = null) => {
      const json = JSON.stringify(data === undefined ? null : data);
      if (json === undefined) throw new TypeError("dispatcher.sendMessage: the data must be JSON-serialisable");
      host.dispatchSend(String(type), json);
    },
  });

  // Promises of work done outside the worker, settled by Rust through `internal.settle`.
  const awaiting = new Map();
  internal.settle = (id, ok, text, status) => {
    const entry = mapGet(awaiting, id);
    if (entry === undefined) return;
    mapDelete(awaiting, id);
    enter(entry.caller, entry.callerBuild);
    if (ok) apply(entry.resolve, undefined, [text]);
    else {
      const error = new SafeError(text);
      if (status !== undefined && status !== null) error.ferryStatus = status;
      apply(entry.reject, undefined, [error]);
    }
  };
  // The promise of host call `id` (for database.js): settled as above.
  host.awaitHostCall = (id) =>
    new SafePromise((resolve, reject) => {
      mapSet(awaiting, id, freeze({ resolve, reject, caller: currentRequest, callerBuild: currentBuild }));
    });
  const executeGraphQL = (query, variables = undefined) =>
    new SafePromise((resolve, reject) => {
      const json = variables === undefined || variables === null ? undefined : typeof variables === "string" ? variables : stringify(variables);
      mapSet(awaiting, host.executeGraphQL(String(query), json), freeze({ resolve, reject, caller: currentRequest, callerBuild: currentBuild }));
    });

  const graphQLRegistry = Object.freeze({
    executeGraphQL,
    registerQuery: (name, sdl, resolver, visibility) => registerGraphQL("query", name, sdl, resolver, visibility),
    registerMutation: (name, sdl, resolver, visibility) => registerGraphQL("mutation", name, sdl, resolver, visibility),
    registerSubscription: (name, sdl, resolver, visibility) => registerGraphQL("subscription", name, sdl, resolver, visibility),
    sendSubscriptionMessage: (name, data) => publish(name, data, undefined, undefined),
    sendSubscriptionMessageFiltered: (name, data, filter = {}, mode = "subset") =>
      publish(name, data, typeof filter === "string" ? filter : JSON.stringify(filter ?? {}), String(mode)),
  });

  // MCP: tools, resources and prompts; each handler gets `context.args` (and `context.uri`
  // for resources). The definitions go to Rust as JSON (see engine.rs).
  const jsonOf = (value, what) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch {
      throw new TypeError(`${what} must be an object or its JSON text`);
    }
  };
  function registerMCP(kind, key, definition, handler) {
    if (typeof handler !== "function" && typeof handler !== "string") {
      throw new TypeError(`the handler of MCP ${kind} ${JSON.stringify(key)} must be a function or the name of a global function`);
    }
    const label = host.registerMCP(kind, String(key), JSON.stringify(definition), typeof handler === "function" ? handler.name || "anonymous" : handler);
    addHandler(handler);
    return label;
  }
  const registerMCPTool = (name, description, inputSchema, handler) =>
    registerMCP("tool", name, { description: String(description ?? ""), inputSchema: jsonOf(inputSchema ?? { type: "object" }, "the input schema") }, handler);
  const registerMCPResource = (uri, name, description, handler, mimeType = undefined) =>
    registerMCP("resource", uri, { name: String(name ?? uri), description: String(description ?? ""), mimeType: mimeType ?? null }, handler);
  const registerMCPPrompt = (name, description, args, handler) =>
    registerMCP("prompt", name, { description: String(description ?? ""), arguments: jsonOf(args ?? [], "the prompt arguments") }, handler);
  const mcpRegistry = Object.freeze({
    registerTool: registerMCPTool,
    registerResource: registerMCPResource,
    registerPrompt: registerMCPPrompt,
  });

  // schedulerService: jobs that run on a schedule, once per cluster (scheduler.rs). The
  // handler gets `context.args` = { name, scheduledTime, cron }.
  const timeOf = (value, what) => {
    const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : Number(value);
    if (!Number.isFinite(ms)) {
      throw new TypeError(`schedulerService: ${what} must be a Date, an ISO 8601 text or milliseconds since 1970`);
    }
    return Math.trunc(ms);
  };
  const handlerName = (handler) => (typeof handler === "function" ? handler.name || "anonymous" : String(handler));
  function registerJob(options, what, schedule) {
    const handler = options.handler;
    if (typeof handler !== "function" && typeof handler !== "string") {
      throw new TypeError(`schedulerService.${what}: handler must be a function or the name of a global function`);
    }
    const name = options.name === undefined ? handlerName(handler) : String(options.name);
    const label = host.registerJob(name, JSON.stringify(schedule), handlerName(handler));
    addHandler(handler);
    return label;
  }
  const optionsOf = (options, what) => {
    if (!options || typeof options !== "object") throw new TypeError(`schedulerService.${what} takes an object, e.g. { handler, name }`);
    return options;
  };
  // `export default { scheduled(controller, env, ctx), crons: ["*/5 * * * *"] }`, as
  // Workers write it (there the expressions live in wrangler.toml; an extra `crons` key is
  // ignored by Workers, so the same file runs on both): a cron job per expression.
  internal.serveScheduledExport = (exported) => {
    const crons = exported.crons;
    if (crons === undefined || crons === null) {
      throw new TypeError('export default { scheduled }: say when it runs with crons, e.g. { crons: ["*/5 * * * *"], scheduled(controller) {} } (5-field cron expressions, UTC unless timezone says otherwise)');
    }
    const list = typeof crons === "string" ? [crons] : Array.from(crons, String);
    const timezone = exported.timezone === undefined || exported.timezone === null ? null : String(exported.timezone);
    for (const cron of list) {
      const scheduled = function scheduled(context) {
        const args = context.args ?? {};
        const controller = Object.freeze({ cron, scheduledTime: args.scheduledTime ?? Date.now(), type: "scheduled", noRetry() {} });
        const waits = [];
        const ctx = Object.freeze({ waitUntil: (promise) => void waits.push(Promise.resolve(promise)), passThroughOnException() {} });
        return Promise.resolve(exported.scheduled(controller, {}, ctx)).then(() => Promise.all(waits)).then(() => undefined);
      };
      registerJob({ handler: scheduled, name: `scheduled ${cron}` }, "registerCron", { kind: "cron", cron, timezone });
    }
  };
  const schedulerService = Object.freeze({
    registerOnce: (options) => {
      const given = optionsOf(options, "registerOnce");
      return registerJob(given, "registerOnce", { kind: "once", at: timeOf(given.runAt, "runAt") });
    },
    registerRecurring: (options) => {
      const given = optionsOf(options, "registerRecurring");
      const every = given.intervalMilliseconds !== undefined ? Number(given.intervalMilliseconds) : Number(given.intervalMinutes) * 60000;
      if (!Number.isFinite(every)) throw new TypeError("schedulerService.registerRecurring: give intervalMilliseconds or intervalMinutes");
      const start = given.startAt === undefined ? null : timeOf(given.startAt, "startAt");
      return registerJob(given, "registerRecurring", { kind: "every", every: Math.trunc(every), start });
    },
    registerCron: (options) => {
      const given = optionsOf(options, "registerCron");
      const timezone = given.timezone === undefined || given.timezone === null ? null : String(given.timezone);
      return registerJob(given, "registerCron", { kind: "cron", cron: String(given.cron), timezone });
    },
    clearAll: () => {
      const call = host.clearJobs();
      return call === null || call === undefined ? Promise.resolve(0) : host.awaitHostCall(call).then(Number);
    },
  });

  const messageText = (data) => (typeof data === "string" ? data : JSON.stringify(data) ?? String(data));
  const filterText = (filter) => (typeof filter === "string" ? filter : JSON.stringify(filter ?? {}));
  const sendToPath = (path, data) => host.streamSend(String(path), messageText(data), undefined, undefined);

  const routeRegistry = Object.freeze({
    registerRoute: (path, handler, method = "GET", metadata = undefined) =>
      register(path, handler, method, metadata),
    registerStreamRoute: (path, customizer = undefined, metadata = undefined) =>
      registerStream(path, customizer, metadata),
    registerAssetRoute,
    sendStreamMessage: sendToPath,
    registerWebSocketRoute,
    sendWebSocketMessage,
    sendWebSocketMessageFiltered: (path, data, filter = {}, mode = "subset") =>
      host.socketPublish(String(path), ...socketFrame(data), filterText(filter), String(mode), undefined),
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
  // Per script and per signed-in user: the user of the request being handled.
  const personalUser = (method) => {
    const auth = currentAuth();
    if (!auth.isAuthenticated) {
      throw new SafeError(`personalStorage.${method}: nobody is signed in; check auth.isAuthenticated (or call auth.requireAuth()) first`);
    }
    return auth.userId;
  };
  const personalStorage = Object.freeze({
    getItem: (key) => host.personalGet(personalUser("getItem"), String(key)) ?? null,
    setItem: (key, value) => host.personalSet(personalUser("setItem"), String(key), String(value)),
    removeItem: (key) => host.personalRemove(personalUser("removeItem"), String(key)),
    clear: () => host.personalClear(personalUser("clear")),
  });

  // No getter: a script can store and check its secrets, never read one back. As in
  // aiwebengine, setSecret and clear answer with a message ("Error: …" when refused); an
  // unreachable database still throws (503 when uncaught).
  const refusedAsMessage = (work) => {
    try {
      return work();
    } catch (error) {
      if (error && error.ferryStatus === 503) throw error;
      return `Error: ${error && error.message ? error.message : String(error)}`;
    }
  };
  const secretStorage = Object.freeze({
    exists: (name) => host.secretExists(String(name)),
    setSecret: (name, value) =>
      refusedAsMessage(() => {
        host.secretSet(String(name), String(value));
        return `secret ${String(name)} stored`;
      }),
    removeSecret: (name) => host.secretRemove(String(name)),
    clear: () => refusedAsMessage(() => `${host.secretClear()} secrets removed`),
  });

  // aiwebengine's asset API: JSON text, base64 content and messages ("Error: …" when
  // refused); an unreachable database throws (503 when uncaught).
  const assetStorage = Object.freeze({
    listAssets: () => host.assetList(),
    fetchAsset: (name) =>
      refusedAsMessage(() => host.assetFetch(String(name)) ?? `Error: there is no asset ${String(name)}`),
    upsertAsset: (name, mimetype, contentBase64) =>
      refusedAsMessage(() => {
        const stored = JSON.parse(host.assetUpsert(String(name), String(mimetype), String(contentBase64)));
        return `asset ${stored.name} stored (${stored.size} bytes, sha256 ${stored.sha256})`;
      }),
    deleteAsset: (name) =>
      refusedAsMessage(() =>
        host.assetDelete(String(name)) ? `asset ${String(name)} deleted` : `Error: there is no asset ${String(name)}`),
  });

  // What escape_html replaces: enough for text and for quoted attribute values. JSX's `h`
  // (jsx.js) escapes with it too.
  const htmlEntities = Object.freeze({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" });
  const replaceText = uncurry(String.prototype.replace);
  const escapeHtml = (text) => replaceText(String(text), /[&<>"']/g, (character) => htmlEntities[character]);
  host.escapeHtml = escapeHtml;
  const convert = Object.freeze({
    markdown_to_html: (markdown) => host.markdown(String(markdown)),
    render_handlebars_template: (template, data = {}) =>
      host.handlebars(String(template), typeof data === "string" ? data : JSON.stringify(data)),
    btoa: (text) => host.btoa(String(text)),
    atob: (text) => host.atob(String(text)),
    escape_html: escapeHtml,
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
    mapSet(timers, id, freeze({ callback, args, repeat: repeat ? Math.max(1, ms) : 0, caller: currentRequest, callerBuild: currentBuild }));
    host.schedule(id, ms);
    return id;
  }

  internal.fire = function (id) {
    const timer = mapGet(timers, id);
    if (timer === undefined) return;
    if (timer.repeat) {
      host.schedule(id, timer.repeat);
    } else {
      mapDelete(timers, id);
    }
    enter(timer.caller, timer.callerBuild);
    apply(timer.callback, undefined, timer.args);
  };

  const setTimeout = (callback, delay = 0, ...args) => schedule(callback, delay, args, false);
  const setInterval = (callback, delay = 0, ...args) => schedule(callback, delay, args, true);
  const clearTimeout = (id) => void mapDelete(timers, id);
  const queueMicrotask = (callback) => {
    if (typeof callback !== "function") throw new TypeError("queueMicrotask needs a function");
    Promise.resolve().then(() => callback());
  };

  const api = {
    register,
    routeRegistry,
    registerWebStream: (path) => registerStream(path),
    sendStreamMessage: (data) => host.streamSend(undefined, messageText(data), undefined, undefined),
    sendStreamMessageToPath: sendToPath,
    registerWebSocket: (path, socketHandlers) => registerWebSocketRoute(path, socketHandlers),
    graphQLRegistry,
    mcpRegistry,
    registerMCPTool,
    schedulerService,
    dispatcher,
    registerMCPResource,
    registerMCPPrompt,
    registerGraphQLQuery: graphQLRegistry.registerQuery,
    registerGraphQLMutation: graphQLRegistry.registerMutation,
    registerGraphQLSubscription: graphQLRegistry.registerSubscription,
    sendSubscriptionMessage: graphQLRegistry.sendSubscriptionMessage,
    sendWebSocketMessage,
    writeLog,
    console,
    ResponseBuilder,
    sharedStorage,
    personalStorage,
    secretStorage,
    assetStorage,
    convert,
    btoa: convert.btoa,
    atob: convert.atob,
    setTimeout,
    setInterval,
    clearTimeout,
    clearInterval: clearTimeout,
    queueMicrotask,
  };
  for (const [name, value] of Object.entries(api)) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
  // `auth`: the identity of the request being handled (see `currentRequest`).
  Object.defineProperty(globalThis, "auth", { get: currentAuth, configurable: true, enumerable: false });
  freeze(internal);
})

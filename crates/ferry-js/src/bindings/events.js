// Events and cancellation as the web platform has them: `Event`, `CustomEvent`,
// `EventTarget`, `AbortController` and `AbortSignal` (with `abort`, `timeout` and `any`).
// Evaluated after web.js; takes what it shares and adds to it.
(function (host, shared) {
  "use strict";

  const { DOMException } = shared;
  const SafeTypeError = TypeError;
  const SafeMap = Map;
  const SafeWeakRef = WeakRef;
  const setTimer = globalThis.setTimeout;
  const mapGet = Function.prototype.call.bind(Map.prototype.get);
  const mapSet = Function.prototype.call.bind(Map.prototype.set);
  const apply = Reflect.apply;
  const report = (error) => {
    try {
      console.error("an event listener threw:", error && error.stack ? error.stack : String(error));
    } catch {
      // Nothing more can be done with it.
    }
  };

  const NONE = 0;
  const AT_TARGET = 2;

  class Event {
    #type;
    #bubbles;
    #cancelable;
    #composed;
    #canceled = false;
    #stopped = false;
    #target = null;
    #current = null;
    #phase = NONE;
    #timeStamp = host.now();
    constructor(type, init = undefined) {
      if (arguments.length === 0) throw new SafeTypeError("Event: a type is required");
      this.#type = String(type);
      this.#bubbles = Boolean(init && init.bubbles);
      this.#cancelable = Boolean(init && init.cancelable);
      this.#composed = Boolean(init && init.composed);
    }
    get type() { return this.#type; }
    get bubbles() { return this.#bubbles; }
    get cancelable() { return this.#cancelable; }
    get composed() { return this.#composed; }
    get defaultPrevented() { return this.#canceled; }
    get returnValue() { return !this.#canceled; }
    set returnValue(value) {
      if (!value) this.preventDefault();
    }
    get cancelBubble() { return this.#stopped; }
    set cancelBubble(value) {
      if (value) this.#stopped = true;
    }
    get target() { return this.#target; }
    get srcElement() { return this.#target; }
    get currentTarget() { return this.#current; }
    get eventPhase() { return this.#phase; }
    get isTrusted() { return false; }
    get timeStamp() { return this.#timeStamp; }
    composedPath() {
      return this.#current === null ? [] : [this.#current];
    }
    preventDefault() {
      if (this.#cancelable) this.#canceled = true;
    }
    stopPropagation() {
      this.#stopped = true;
    }
    stopImmediatePropagation() {
      this.#stopped = true;
      stoppedNow.add(this);
    }
    static #dispatching(event, target) {
      event.#target = target;
      event.#current = target;
      event.#phase = AT_TARGET;
    }
    static #done(event) {
      event.#current = null;
      event.#phase = NONE;
      event.#stopped = false;
      stoppedNow.delete(event);
    }
    static {
      shared.eventDispatching = (event, target) => Event.#dispatching(event, target);
      shared.eventDone = (event) => Event.#done(event);
    }
  }
  const stoppedNow = new WeakSet();
  for (const [name, value] of [["NONE", 0], ["CAPTURING_PHASE", 1], ["AT_TARGET", 2], ["BUBBLING_PHASE", 3]]) {
    Object.defineProperty(Event, name, { value, enumerable: true });
    Object.defineProperty(Event.prototype, name, { value, enumerable: true });
  }

  class CustomEvent extends Event {
    #detail;
    constructor(type, init = undefined) {
      super(type, init);
      this.#detail = init && init.detail !== undefined ? init.detail : null;
    }
    get detail() { return this.#detail; }
  }

  // Listeners per type: a list of { callback, capture, once, removed }.
  class EventTarget {
    #listeners = new SafeMap();
    addEventListener(type, callback, options = undefined) {
      if (callback === null || callback === undefined) return;
      const capture = typeof options === "boolean" ? options : Boolean(options && options.capture);
      const once = Boolean(options && typeof options === "object" && options.once);
      const signal = options && typeof options === "object" ? options.signal : undefined;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new SafeTypeError("addEventListener: signal must be an AbortSignal");
      }
      if (signal && signal.aborted) return;
      type = String(type);
      let list = mapGet(this.#listeners, type);
      if (list === undefined) {
        list = [];
        mapSet(this.#listeners, type, list);
      }
      if (list.some((entry) => entry.callback === callback && entry.capture === capture)) return;
      const entry = { callback, capture, once, removed: false };
      list.push(entry);
      if (signal) signal.addEventListener("abort", () => this.removeEventListener(type, callback, { capture }));
    }
    removeEventListener(type, callback, options = undefined) {
      const capture = typeof options === "boolean" ? options : Boolean(options && options.capture);
      const list = mapGet(this.#listeners, String(type));
      if (list === undefined) return;
      const at = list.findIndex((entry) => entry.callback === callback && entry.capture === capture);
      if (at >= 0) {
        list[at].removed = true;
        list.splice(at, 1);
      }
    }
    dispatchEvent(event) {
      if (!(event instanceof Event)) throw new SafeTypeError("dispatchEvent: the argument must be an Event");
      shared.eventDispatching(event, this);
      const list = mapGet(this.#listeners, event.type);
      const handler = shared.eventHandlerOf(this, event.type);
      const entries = list === undefined ? [] : list.slice();
      try {
        if (handler) {
          try {
            apply(handler, this, [event]);
          } catch (error) {
            report(error);
          }
        }
        for (const entry of entries) {
          if (entry.removed) continue;
          if (stoppedNow.has(event)) break;
          if (entry.once) this.removeEventListener(event.type, entry.callback, { capture: entry.capture });
          try {
            if (typeof entry.callback === "function") {
              apply(entry.callback, this, [event]);
            } else if (entry.callback && typeof entry.callback.handleEvent === "function") {
              entry.callback.handleEvent(event);
            }
          } catch (error) {
            report(error);
          }
        }
      } finally {
        shared.eventDone(event);
      }
      return !event.defaultPrevented;
    }
  }

  // `on<type>` handlers, kept outside the objects so scripts cannot reach them.
  const handlers = new WeakMap();
  shared.eventHandlerOf = (target, type) => {
    const own = handlers.get(target);
    return own ? own[type] : undefined;
  };
  const handlerProperty = (Class, type) => {
    Object.defineProperty(Class.prototype, `on${type}`, {
      get() {
        const own = handlers.get(this);
        return own && own[type] ? own[type] : null;
      },
      set(value) {
        let own = handlers.get(this);
        if (!own) {
          own = { __proto__: null };
          handlers.set(this, own);
        }
        own[type] = typeof value === "function" ? value : null;
      },
      configurable: true,
      enumerable: true,
    });
  };

  const noReason = () => new DOMException("The signal has been aborted", "AbortError");
  const newSignal = Symbol("new signal");

  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    constructor(key = undefined) {
      if (key !== newSignal) throw new SafeTypeError("Illegal constructor");
      super();
    }
    get aborted() {
      return this.#aborted;
    }
    get reason() {
      return this.#reason;
    }
    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }
    static #abort(signal, reason) {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? noReason() : reason;
      signal.dispatchEvent(new Event("abort"));
    }
    static {
      shared.abortSignal = (signal, reason) => AbortSignal.#abort(signal, reason);
    }
    static abort(reason = undefined) {
      const signal = new AbortSignal(newSignal);
      AbortSignal.#abort(signal, reason);
      return signal;
    }
    static timeout(milliseconds) {
      const delay = Number(milliseconds);
      if (!(delay >= 0) || delay > Number.MAX_SAFE_INTEGER) {
        throw new SafeTypeError("AbortSignal.timeout: the delay must be a non-negative number of milliseconds");
      }
      const signal = new AbortSignal(newSignal);
      const held = new SafeWeakRef(signal);
      setTimer(() => {
        const still = held.deref();
        if (still) AbortSignal.#abort(still, new DOMException("The signal timed out", "TimeoutError"));
      }, delay);
      return signal;
    }
    static any(signals) {
      const list = Array.from(signals);
      for (const signal of list) {
        if (!(signal instanceof AbortSignal)) throw new SafeTypeError("AbortSignal.any: every item must be an AbortSignal");
      }
      const combined = new AbortSignal(newSignal);
      const already = list.find((signal) => signal.aborted);
      if (already) {
        AbortSignal.#abort(combined, already.reason);
        return combined;
      }
      for (const signal of list) {
        signal.addEventListener("abort", () => AbortSignal.#abort(combined, signal.reason), { once: true });
      }
      return combined;
    }
  }
  handlerProperty(AbortSignal, "abort");

  class AbortController {
    #signal = new AbortSignal(newSignal);
    get signal() {
      return this.#signal;
    }
    abort(reason = undefined) {
      shared.abortSignal(this.#signal, reason);
    }
  }
  shared.newAbortSignal = () => new AbortSignal(newSignal);

  class MessageEvent extends Event {
    #data;
    #origin;
    #lastEventId;
    constructor(type, init = undefined) {
      super(type, init);
      this.#data = init && init.data !== undefined ? init.data : null;
      this.#origin = init && init.origin !== undefined ? String(init.origin) : "";
      this.#lastEventId = init && init.lastEventId !== undefined ? String(init.lastEventId) : "";
    }
    get data() { return this.#data; }
    get origin() { return this.#origin; }
    get lastEventId() { return this.#lastEventId; }
    get source() { return null; }
    get ports() { return []; }
  }

  // BroadcastChannel: messages to every channel of the same name in every script, worker
  // and node (as JSON: what JSON cannot carry does not arrive). The worker hands them over
  // through host.onChannelMessage.
  const channels = new Map();
  const ids = new WeakMap();
  class BroadcastChannel extends EventTarget {
    #name;
    #closed = false;
    constructor(name) {
      if (arguments.length === 0) throw new SafeTypeError("BroadcastChannel: a name is required");
      super();
      this.#name = String(name);
      ids.set(this, shared.randomHex(12));
      let open = channels.get(this.#name);
      if (open === undefined) {
        open = new Set();
        channels.set(this.#name, open);
      }
      open.add(this);
    }
    get name() {
      return this.#name;
    }
    postMessage(message) {
      if (this.#closed) throw new DOMException("BroadcastChannel: the channel is closed", "InvalidStateError");
      let json;
      try {
        json = JSON.stringify(message === undefined ? null : message);
      } catch (error) {
        throw new DOMException(`BroadcastChannel: the message could not be sent (${error.message})`, "DataCloneError");
      }
      if (json === undefined) throw new DOMException("BroadcastChannel: the message could not be sent as JSON", "DataCloneError");
      host.channelPost(this.#name, json, ids.get(this));
    }
    close() {
      if (this.#closed) return;
      this.#closed = true;
      const open = channels.get(this.#name);
      if (open) {
        open.delete(this);
        if (open.size === 0) channels.delete(this.#name);
      }
    }
  }
  handlerProperty(BroadcastChannel, "message");
  handlerProperty(BroadcastChannel, "messageerror");
  host.onChannelMessage((name, data, sender) => {
    const open = channels.get(name);
    if (open === undefined) return;
    for (const channel of [...open]) {
      if (ids.get(channel) === sender) continue;
      let value;
      try {
        value = JSON.parse(data);
      } catch {
        channel.dispatchEvent(new MessageEvent("messageerror"));
        continue;
      }
      channel.dispatchEvent(new MessageEvent("message", { data: value }));
    }
  });

  const globals = { Event, CustomEvent, EventTarget, AbortController, AbortSignal, MessageEvent, BroadcastChannel };
  shared.AbortSignal = AbortSignal;
  shared.install(globals);
  return shared;
})

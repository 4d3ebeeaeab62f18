// The web platform's APIs that scripts reach for first, as Deno, Bun, Node and Workers
// share them: `DOMException`, `TextEncoder`, `TextDecoder`, `crypto` (`getRandomValues`,
// `randomUUID`, `subtle.digest`), `structuredClone` and `performance`. Randomness, digests,
// UTF-8 and the clock come from Rust (web.rs). Evaluated after the prelude, before the
// script and the other web files; like the prelude it keeps the built-ins it uses.
(function (host) {
  "use strict";

  const uncurry = Function.prototype.bind.bind(Function.prototype.call);
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const fromCharCode = String.fromCharCode;
  const apply = Reflect.apply;
  const getPrototypeOf = Object.getPrototypeOf;
  const ownKeys = Object.keys;
  const isArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const SafeError = Error;
  const SafeTypeError = TypeError;
  const SafeRangeError = RangeError;
  const SafePromise = Promise;
  const SafeMap = Map;
  const SafeSet = Set;
  const SafeUint8Array = Uint8Array;
  const SafeArrayBuffer = ArrayBuffer;
  const SafeDataView = DataView;
  const SafeDate = Date;
  const SafeRegExp = RegExp;
  const mapGet = uncurry(Map.prototype.get);
  const mapSet = uncurry(Map.prototype.set);
  const mapHas = uncurry(Map.prototype.has);
  const mapForEach = uncurry(Map.prototype.forEach);
  const setAdd = uncurry(Set.prototype.add);
  const setHas = uncurry(Set.prototype.has);
  const setForEach = uncurry(Set.prototype.forEach);
  const sliceBuffer = uncurry(ArrayBuffer.prototype.slice);
  const typedArraySet = uncurry(Uint8Array.prototype.set);
  const subarray = uncurry(Uint8Array.prototype.subarray);
  const replace = uncurry(String.prototype.replace);
  const codePointAt = uncurry(String.prototype.codePointAt);
  const padStart = uncurry(String.prototype.padStart);
  const toStringOf = uncurry(Number.prototype.toString);
  const dateTime = uncurry(Date.prototype.getTime);
  const TypedArray = getPrototypeOf(Uint8Array);
  const typedArrayName = uncurry(Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get);
  const viewBuffer = uncurry(Object.getOwnPropertyDescriptor(TypedArray.prototype, "buffer").get);
  const viewOffset = uncurry(Object.getOwnPropertyDescriptor(TypedArray.prototype, "byteOffset").get);
  const viewLength = uncurry(Object.getOwnPropertyDescriptor(TypedArray.prototype, "byteLength").get);
  const elementCount = uncurry(Object.getOwnPropertyDescriptor(TypedArray.prototype, "length").get);
  const bufferLength = uncurry(Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get);
  const constructors = {
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  };
  const illegal = () => {
    throw new SafeTypeError("Illegal constructor");
  };

  // `DOMException`, with the legacy codes its names carry.
  const codes = freeze({
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  });
  class DOMException extends SafeError {
    #name;
    constructor(message = "", name = "Error") {
      super(String(message));
      this.#name = String(name);
    }
    get name() {
      return this.#name;
    }
    get code() {
      return codes[this.#name] ?? 0;
    }
  }
  const constants = [
    "INDEX_SIZE_ERR", "DOMSTRING_SIZE_ERR", "HIERARCHY_REQUEST_ERR", "WRONG_DOCUMENT_ERR",
    "INVALID_CHARACTER_ERR", "NO_DATA_ALLOWED_ERR", "NO_MODIFICATION_ALLOWED_ERR", "NOT_FOUND_ERR",
    "NOT_SUPPORTED_ERR", "INUSE_ATTRIBUTE_ERR", "INVALID_STATE_ERR", "SYNTAX_ERR",
    "INVALID_MODIFICATION_ERR", "NAMESPACE_ERR", "INVALID_ACCESS_ERR", "VALIDATION_ERR",
    "TYPE_MISMATCH_ERR", "SECURITY_ERR", "NETWORK_ERR", "ABORT_ERR", "URL_MISMATCH_ERR",
    "QUOTA_EXCEEDED_ERR", "TIMEOUT_ERR", "INVALID_NODE_TYPE_ERR", "DATA_CLONE_ERR",
  ];
  for (let i = 0; i < constants.length; i++) {
    defineProperty(DOMException, constants[i], { value: i + 1, enumerable: true });
    defineProperty(DOMException.prototype, constants[i], { value: i + 1, enumerable: true });
  }

  // Bytes as text of one character per byte, the form web.rs takes them in.
  const bytesToText = (bytes) => {
    let text = "";
    const length = elementCount(bytes);
    for (let at = 0; at < length; at += 0x8000) {
      text += apply(fromCharCode, null, subarray(bytes, at, at + 0x8000));
    }
    return text;
  };

  // A `BufferSource` (an ArrayBuffer or a view of one) as bytes, or undefined.
  const bytesOf = (source) => {
    if (source instanceof SafeArrayBuffer) return new SafeUint8Array(source);
    if (isView(source)) {
      if (source instanceof SafeDataView) return new SafeUint8Array(source.buffer, source.byteOffset, source.byteLength);
      return new SafeUint8Array(viewBuffer(source), viewOffset(source), viewLength(source));
    }
    return undefined;
  };

  // Lone surrogates become U+FFFD, as UTF-8 encoders must.
  const wellFormed = (text) =>
    replace(text, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return host.utf8Encode(wellFormed(String(input)));
    }
    encodeInto(source, destination) {
      if (!(destination instanceof SafeUint8Array)) {
        throw new SafeTypeError("TextEncoder.encodeInto: the destination must be a Uint8Array");
      }
      const text = wellFormed(String(source));
      const room = elementCount(destination);
      let read = 0;
      let written = 0;
      while (read < text.length) {
        const point = codePointAt(text, read);
        const size = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
        if (written + size > room) break;
        if (size === 1) {
          destination[written] = point;
        } else {
          const lead = size === 2 ? 0xc0 : size === 3 ? 0xe0 : 0xf0;
          destination[written] = lead | (point >> (6 * (size - 1)));
          for (let i = 1; i < size; i++) destination[written + i] = 0x80 | ((point >> (6 * (size - 1 - i))) & 0x3f);
        }
        written += size;
        read += point > 0xffff ? 2 : 1;
      }
      return { read, written };
    }
  }

  const utf8Labels = new SafeSet(["utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"]);

  // How many bytes at the end of `bytes` start a sequence that is not complete yet.
  const incompleteTail = (bytes) => {
    const length = elementCount(bytes);
    for (let back = 1; back <= 3 && back <= length; back++) {
      const byte = bytes[length - back];
      if (byte < 0x80) return 0;
      if (byte >= 0xc0) {
        const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
        return needed > back ? back : 0;
      }
    }
    return 0;
  };

  class TextDecoder {
    #fatal;
    #ignoreBOM;
    #pending = new SafeUint8Array(0);
    #started = false;
    constructor(label = "utf-8", options = {}) {
      const name = replace(String(label), /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "").toLowerCase();
      if (!utf8Labels.has(name)) {
        throw new SafeRangeError(`TextDecoder: Ferry decodes UTF-8 only, not ${JSON.stringify(String(label))}`);
      }
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() {
      return "utf-8";
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    decode(input = undefined, options = {}) {
      let bytes = new SafeUint8Array(0);
      if (input !== undefined) {
        bytes = bytesOf(input);
        if (bytes === undefined) throw new SafeTypeError("TextDecoder.decode: the input must be an ArrayBuffer or a view of one");
      }
      const stream = Boolean(options && options.stream);
      if (elementCount(this.#pending) > 0) {
        const joined = new SafeUint8Array(elementCount(this.#pending) + elementCount(bytes));
        typedArraySet(joined, this.#pending);
        typedArraySet(joined, bytes, elementCount(this.#pending));
        bytes = joined;
      }
      const keep = stream ? incompleteTail(bytes) : 0;
      const now = subarray(bytes, 0, elementCount(bytes) - keep);
      this.#pending = new SafeUint8Array(subarray(bytes, elementCount(bytes) - keep));
      const text = host.utf8Decode(bytesToText(now), this.#fatal, this.#ignoreBOM || this.#started);
      if (elementCount(now) > 0) this.#started = true;
      if (!stream) {
        this.#pending = new SafeUint8Array(0);
        this.#started = false;
      }
      if (text === null || text === undefined) {
        this.#pending = new SafeUint8Array(0);
        throw new SafeTypeError("TextDecoder.decode: the data is not valid UTF-8");
      }
      return text;
    }
  }

  // `crypto`: random values from the operating system, and digests.
  const integerArrays = new SafeSet([
    "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
    "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array",
  ]);
  const hex = (byte) => padStart(toStringOf(byte, 16), 2, "0");

  class SubtleCrypto {
    constructor() {
      illegal();
    }
    digest(algorithm, data) {
      try {
        const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
        if (typeof name !== "string") throw new SafeTypeError("crypto.subtle.digest: name the algorithm, e.g. \"SHA-256\"");
        const upper = name.toUpperCase();
        if (upper !== "SHA-1" && upper !== "SHA-256" && upper !== "SHA-384" && upper !== "SHA-512") {
          throw new DOMException(`crypto.subtle.digest: ${name} is not a digest (SHA-1, SHA-256, SHA-384, SHA-512)`, "NotSupportedError");
        }
        const bytes = bytesOf(data);
        if (bytes === undefined) throw new SafeTypeError("crypto.subtle.digest: the data must be an ArrayBuffer or a view of one");
        const digest = host.digest(upper, bytesToText(bytes));
        return SafePromise.resolve(sliceBuffer(viewBuffer(digest), 0));
      } catch (error) {
        return SafePromise.reject(error);
      }
    }
  }

  class Crypto {
    constructor() {
      illegal();
    }
    get subtle() {
      return subtle;
    }
    getRandomValues(array) {
      if (!(array instanceof TypedArray) || !integerArrays.has(typedArrayName(array))) {
        throw new DOMException("crypto.getRandomValues: pass an integer typed array (Uint8Array, Uint32Array, ...)", "TypeMismatchError");
      }
      const length = viewLength(array);
      if (length > 65536) {
        throw new DOMException(`crypto.getRandomValues: ${length} bytes asked for; at most 65536 at once`, "QuotaExceededError");
      }
      typedArraySet(new SafeUint8Array(viewBuffer(array), viewOffset(array), length), host.randomBytes(length));
      return array;
    }
    randomUUID() {
      const bytes = host.randomBytes(16);
      bytes[6] = (bytes[6] & 0x0f) | 0x40;
      bytes[8] = (bytes[8] & 0x3f) | 0x80;
      let text = "";
      for (let i = 0; i < 16; i++) {
        if (i === 4 || i === 6 || i === 8 || i === 10) text += "-";
        text += hex(bytes[i]);
      }
      return text;
    }
  }
  const subtle = Object.create(SubtleCrypto.prototype);
  const crypto = Object.create(Crypto.prototype);

  // `structuredClone`: the structured clone algorithm for the values scripts pass around.
  const cloneError = (what) => new DOMException(`structuredClone: ${what} could not be cloned`, "DataCloneError");
  const errorKinds = freeze({ Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError });

  function structuredClone(value, options = undefined) {
    if (arguments.length === 0) throw new SafeTypeError("structuredClone: a value is required");
    if (options && options.transfer && options.transfer.length > 0) {
      throw cloneError("a value with transfer (transferring is not supported)");
    }
    const seen = new SafeMap();
    const copyBuffer = (buffer) => {
      if (mapHas(seen, buffer)) return mapGet(seen, buffer);
      const copy = sliceBuffer(buffer, 0);
      mapSet(seen, buffer, copy);
      return copy;
    };
    const clone = (input) => {
      if (typeof input === "symbol") throw cloneError(String(input));
      if (typeof input === "function") throw cloneError(`function ${input.name || "(anonymous)"}`);
      if (input === null || typeof input !== "object") return input;
      if (mapHas(seen, input)) return mapGet(seen, input);
      let output;
      if (input instanceof SafeDate) {
        output = new SafeDate(dateTime(input));
      } else if (input instanceof SafeRegExp) {
        output = new SafeRegExp(input.source, input.flags);
      } else if (input instanceof SafeArrayBuffer) {
        return copyBuffer(input);
      } else if (input instanceof SafeDataView) {
        output = new SafeDataView(copyBuffer(input.buffer), input.byteOffset, input.byteLength);
      } else if (input instanceof TypedArray) {
        const Kind = constructors[typedArrayName(input)];
        output = new Kind(copyBuffer(viewBuffer(input)), viewOffset(input), elementCount(input));
      } else if (input instanceof Boolean || input instanceof Number || input instanceof String || input instanceof BigInt) {
        output = Object(input.valueOf());
      } else if (input instanceof SafeMap) {
        output = new SafeMap();
        mapSet(seen, input, output);
        mapForEach(input, (entry, key) => mapSet(output, clone(key), clone(entry)));
        return output;
      } else if (input instanceof SafeSet) {
        output = new SafeSet();
        mapSet(seen, input, output);
        setForEach(input, (entry) => setAdd(output, clone(entry)));
        return output;
      } else if (input instanceof SafeError && !(input instanceof DOMException)) {
        const Kind = errorKinds[input.name] ?? SafeError;
        output = new Kind(input.message);
        mapSet(seen, input, output);
        if (typeof input.stack === "string") defineProperty(output, "stack", { value: input.stack, writable: true, configurable: true });
        if ("cause" in input) defineProperty(output, "cause", { value: clone(input.cause), writable: true, configurable: true });
        return output;
      } else if (input instanceof SafePromise || input instanceof WeakMap || input instanceof WeakSet || input instanceof DOMException) {
        throw cloneError(Object.prototype.toString.call(input));
      } else if (isArray(input)) {
        output = new Array(input.length);
        mapSet(seen, input, output);
        for (const key of ownKeys(input)) output[key] = clone(input[key]);
        return output;
      } else {
        output = {};
        mapSet(seen, input, output);
        for (const key of ownKeys(input)) {
          defineProperty(output, key, { value: clone(input[key]), writable: true, enumerable: true, configurable: true });
        }
        return output;
      }
      mapSet(seen, input, output);
      return output;
    };
    return clone(value);
  }

  // `performance`: a monotonic clock in milliseconds since this process started.
  class Performance {
    constructor() {
      illegal();
    }
    now() {
      return host.now();
    }
    get timeOrigin() {
      return host.timeOrigin();
    }
    toJSON() {
      return { timeOrigin: this.timeOrigin };
    }
  }
  const performance = Object.create(Performance.prototype);

  const globals = {
    DOMException, TextEncoder, TextDecoder, Crypto, SubtleCrypto, crypto, structuredClone, Performance, performance,
  };
  for (const [name, value] of Object.entries(globals)) {
    defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
  // The other web files (crypto_keys.js, events.js, streams.js, url.js, fetch_api.js,
  // fetch.js) are evaluated, in that order, when a script first touches one of their
  // globals or a key method of crypto.subtle; each builds on what the ones before share.
  // Byte arrays one after the other, as one.
  const joinBytes = (chunks) => {
    let length = 0;
    for (const chunk of chunks) length += elementCount(chunk);
    const joined = new SafeUint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      typedArraySet(joined, chunk, at);
      at += elementCount(chunk);
    }
    return joined;
  };
  // `count` random bytes as hexadecimal text (ids, multipart boundaries).
  const randomHex = (count) => {
    const bytes = host.randomBytes(count);
    let text = "";
    for (let i = 0; i < count; i++) text += hex(bytes[i]);
    return text;
  };
  const shared = { DOMException, bytesOf, bytesToText, SubtleCrypto, TextEncoder, joinBytes, randomHex };
  // The lazy files define their globals through this: a name the script defined itself
  // meanwhile (`var Headers = …`, `function fetch() {}`) stays the script's.
  const lazyAccessors = new SafeSet();
  shared.install = (globals) => {
    for (const [name, value] of Object.entries(globals)) {
      const present = Object.getOwnPropertyDescriptor(globalThis, name);
      if (present !== undefined && !(present.get && setHas(lazyAccessors, present.get))) continue;
      defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
    }
  };
  let loaded = false;
  const loadWeb = () => {
    if (loaded) return;
    loaded = true;
    for (let index = 0; index < host.webFileCount; index++) host.webFile(index)(host, shared);
  };
  host.loadWeb = loadWeb;
  const lazyGlobals = [
    "CryptoKey", "passwords", "Event", "CustomEvent", "EventTarget", "AbortController", "AbortSignal",
    "MessageEvent", "BroadcastChannel", "ReadableStream", "ReadableStreamDefaultReader",
    "ReadableStreamDefaultController", "URL", "URLSearchParams", "Headers", "Blob", "File", "FormData",
    "Request", "Response", "fetch",
  ];
  for (const name of lazyGlobals) {
    const get = () => {
      loadWeb();
      return globalThis[name];
    };
    setAdd(lazyAccessors, get);
    defineProperty(globalThis, name, {
      get,
      set(value) {
        defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
      },
      configurable: true,
      enumerable: false,
    });
  }
  for (const method of ["importKey", "exportKey", "sign", "verify", "deriveBits", "deriveKey", "generateKey"]) {
    defineProperty(SubtleCrypto.prototype, method, {
      value(...args) {
        loadWeb();
        return apply(SubtleCrypto.prototype[method], this, args);
      },
      writable: true,
      configurable: true,
      enumerable: true,
    });
  }
})

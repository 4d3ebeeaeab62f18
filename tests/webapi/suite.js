// Web-platform checks written once and run on Deno (run-deno.js) and on Ferry
// (crates/ferry-js/tests/web_platform.rs), with suite-fetch.js and suite-crypto.js loaded beside this file: each check returns a JSON value, and the two
// runtimes must return the same value for every check. Values that differ by nature
// (random bytes, clocks) are checked for their shape, not their content. Digests are also
// checked against the published test vectors (FIPS 180-4 examples).

async function webApiChecks() {
  const results = {};
  const check = async (name, run) => {
    try {
      results[name] = await run();
    } catch (error) {
      results[name] = { threw: error && error.name, isError: error instanceof Error };
    }
  };
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  const bytes = (view) => Array.from(view);

  // TextEncoder
  await check("encode ascii", () => bytes(new TextEncoder().encode("hello")));
  await check("encode multibyte", () => bytes(new TextEncoder().encode("h\u00e9\u20ac\u{1f600}")));
  await check("encode lone surrogates", () => bytes(new TextEncoder().encode("a\ud800b\udc00")));
  await check("encode nothing", () => bytes(new TextEncoder().encode()));
  await check("encode non-string", () => bytes(new TextEncoder().encode(42)));
  await check("encoder encoding", () => new TextEncoder().encoding);
  await check("encodeInto fits", () => {
    const target = new Uint8Array(8);
    const result = new TextEncoder().encodeInto("h\u00e9!", target);
    return [result.read, result.written, bytes(target)];
  });
  await check("encodeInto stops before a character that does not fit", () => {
    const target = new Uint8Array(5);
    const result = new TextEncoder().encodeInto("ab\u{1f600}c", target);
    return [result.read, result.written, bytes(target)];
  });
  await check("encodeInto needs a Uint8Array", () => new TextEncoder().encodeInto("a", []));

  // TextDecoder
  const utf8 = (list) => new Uint8Array(list);
  await check("decode", () => new TextDecoder().decode(utf8([104, 195, 169, 226, 130, 172])));
  await check("decode drops the BOM", () => new TextDecoder().decode(utf8([0xef, 0xbb, 0xbf, 97])));
  await check("decode keeps the BOM when asked", () =>
    new TextDecoder("utf-8", { ignoreBOM: true }).decode(utf8([0xef, 0xbb, 0xbf, 97])).length);
  await check("decode replaces malformed bytes", () => new TextDecoder().decode(utf8([97, 0xff, 98, 0xc3])));
  await check("decode overlong and surrogate forms", () =>
    new TextDecoder().decode(utf8([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80])));
  await check("decode fatal", () => new TextDecoder("utf-8", { fatal: true }).decode(utf8([97, 0xff])));
  await check("decode an ArrayBuffer and a DataView", () => {
    const buffer = utf8([120, 121, 122]).buffer;
    return [new TextDecoder().decode(buffer), new TextDecoder().decode(new DataView(buffer, 1))];
  });
  await check("decode a view's window only", () => new TextDecoder().decode(utf8([97, 98, 99, 100]).subarray(1, 3)));
  await check("decode nothing", () => new TextDecoder().decode());
  await check("decode in a stream", () => {
    const decoder = new TextDecoder();
    const euro = [0xe2, 0x82, 0xac];
    const parts = [
      decoder.decode(utf8([0xef, 0xbb]), { stream: true }),
      decoder.decode(utf8([0xbf, 97, euro[0]]), { stream: true }),
      decoder.decode(utf8([euro[1]]), { stream: true }),
      decoder.decode(utf8([euro[2], 98])),
      decoder.decode(utf8([0xef, 0xbb, 0xbf, 99])),
    ];
    return parts;
  });
  await check("decode a truncated stream end", () => {
    const decoder = new TextDecoder();
    return [decoder.decode(utf8([97, 0xe2, 0x82]), { stream: true }), decoder.decode()];
  });
  await check("decoder labels", () =>
    ["utf-8", "UTF8", " unicode-1-1-utf-8 "].map((label) => new TextDecoder(label).encoding));
  await check("decoder attributes", () => {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    return [decoder.fatal, decoder.ignoreBOM];
  });
  await check("decoder refuses a non-buffer", () => new TextDecoder().decode("abc"));

  // crypto.subtle.digest: the FIPS 180-4 example vectors
  const abc = new TextEncoder().encode("abc");
  await check("sha-1 abc", async () => hex(await crypto.subtle.digest("SHA-1", abc)));
  await check("sha-256 abc", async () => hex(await crypto.subtle.digest("SHA-256", abc)));
  await check("sha-384 abc", async () => hex(await crypto.subtle.digest({ name: "SHA-384" }, abc)));
  await check("sha-512 abc", async () => hex(await crypto.subtle.digest("sha-512", abc.buffer)));
  await check("sha-256 empty", async () => hex(await crypto.subtle.digest("SHA-256", new Uint8Array(0))));
  await check("sha-256 two blocks", async () =>
    hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))));
  await check("sha-256 of a million a", async () =>
    hex(await crypto.subtle.digest("SHA-256", new Uint8Array(1000000).fill(97))));
  await check("digest result is an ArrayBuffer", async () =>
    (await crypto.subtle.digest("SHA-256", abc)) instanceof ArrayBuffer);
  await check("digest refuses an unknown algorithm", () => crypto.subtle.digest("MD5", abc));
  await check("digest refuses a non-buffer", () => crypto.subtle.digest("SHA-256", "abc"));
  await check("digest returns a promise", () => {
    const answer = crypto.subtle.digest("MD5", abc);
    answer.catch(() => {});
    return answer instanceof Promise;
  });

  // crypto.getRandomValues and randomUUID
  await check("random values fill and return the array", () => {
    const array = new Uint32Array(16);
    const same = crypto.getRandomValues(array) === array;
    return [same, array.some((n) => n !== 0)];
  });
  await check("random values in a window of a buffer", () => {
    const buffer = new Uint8Array(32);
    crypto.getRandomValues(buffer.subarray(8, 16));
    return [buffer.slice(0, 8).every((n) => n === 0), buffer.slice(16).every((n) => n === 0)];
  });
  await check("random values refuse floats", () => crypto.getRandomValues(new Float64Array(4)));
  await check("random values refuse more than 64 KiB", () => crypto.getRandomValues(new Uint8Array(65537)));
  await check("random values at 64 KiB", () => crypto.getRandomValues(new Uint8Array(65536)).length);
  await check("random values in BigInt64Array", () => typeof crypto.getRandomValues(new BigInt64Array(2))[0]);
  await check("uuid shape", () => {
    const ids = Array.from({ length: 50 }, () => crypto.randomUUID());
    return [
      ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)),
      new Set(ids).size,
    ];
  });
  await check("crypto objects", () => [
    crypto instanceof Crypto,
    crypto.subtle instanceof SubtleCrypto,
    typeof Crypto,
  ]);
  await check("Crypto is not constructible", () => new Crypto());

  // DOMException
  await check("DOMException fields", () => {
    const error = new DOMException("no", "DataCloneError");
    return [error.name, error.message, error.code, error instanceof Error, String(error)];
  });
  await check("DOMException defaults", () => {
    const error = new DOMException();
    return [error.name, error.message, error.code];
  });
  await check("DOMException codes", () =>
    ["IndexSizeError", "NotFoundError", "NotSupportedError", "SyntaxError", "TypeMismatchError", "AbortError",
      "QuotaExceededError", "TimeoutError", "DataCloneError", "OperationError"]
      .map((name) => new DOMException("", name).code));
  await check("DOMException constants", () =>
    [DOMException.INDEX_SIZE_ERR, DOMException.ABORT_ERR, DOMException.DATA_CLONE_ERR, DOMException.URL_MISMATCH_ERR]);

  // structuredClone
  await check("clone plain data", () => {
    const original = { a: 1, b: "two", c: [true, null, undefined, 3.5], d: { e: -0 } };
    const copy = structuredClone(original);
    return [copy !== original, copy.c !== original.c, JSON.stringify(copy), Object.is(copy.d.e, -0), 3 in copy.c];
  });
  await check("clone keeps cycles and shared references", () => {
    const shared = { n: 1 };
    const original = { left: shared, right: shared };
    original.self = original;
    const copy = structuredClone(original);
    return [copy.self === copy, copy.left === copy.right, copy.left !== shared];
  });
  await check("clone dates, regexps, maps and sets", () => {
    const copy = structuredClone({
      when: new Date(1700000000000),
      pattern: /a+b/gi,
      map: new Map([[1, { x: 1 }], ["k", [2]]]),
      set: new Set(["a", 1]),
    });
    return [
      copy.when instanceof Date, copy.when.getTime(),
      copy.pattern instanceof RegExp, copy.pattern.source, copy.pattern.flags,
      copy.map instanceof Map, copy.map.get(1).x, copy.map.get("k")[0],
      copy.set instanceof Set, [...copy.set],
    ];
  });
  await check("clone buffers and views", () => {
    const buffer = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer;
    const original = { whole: new Uint8Array(buffer), part: new Uint16Array(buffer, 2, 2), view: new DataView(buffer, 4) };
    const copy = structuredClone(original);
    copy.whole[2] = 99;
    return [
      copy.whole.buffer === copy.part.buffer, copy.part[0] === 99 + 4 * 256, copy.view.getUint8(0),
      new Uint8Array(buffer)[2], copy.part.constructor.name, copy.part.length, copy.view.byteLength,
    ];
  });
  await check("clone boxed primitives and bigints", () => {
    const copy = structuredClone([Object(false), Object(5), Object("s"), 10n]);
    return [typeof copy[0], copy[0].valueOf(), copy[1].valueOf(), copy[2].valueOf(), typeof copy[3]];
  });
  await check("clone errors", () => {
    const copy = structuredClone(new RangeError("out"));
    return [copy instanceof RangeError, copy.name, copy.message];
  });
  await check("clone drops prototypes and non-enumerable keys", () => {
    class Point {
      constructor() {
        this.x = 1;
      }
      get double() {
        return 2;
      }
    }
    const original = new Point();
    Object.defineProperty(original, "hidden", { value: 1, enumerable: false });
    const copy = structuredClone(original);
    return [copy instanceof Point, Object.getPrototypeOf(copy) === Object.prototype, Object.keys(copy), copy.double];
  });
  await check("clone refuses functions", () => structuredClone({ f() {} }));
  await check("clone refuses symbols", () => structuredClone(Symbol("s")));
  await check("clone refuses promises", () => structuredClone(Promise.resolve(1)));
  await check("clone needs a value", () => structuredClone());
  await check("clone primitives", () => [structuredClone(1), structuredClone("s"), structuredClone(null), structuredClone(undefined) === undefined]);

  // performance
  await check("performance clock", () => {
    const first = performance.now();
    const second = performance.now();
    return [typeof first, first >= 0, second >= first];
  });
  await check("performance origin", () => {
    const origin = performance.timeOrigin;
    const now = Date.now();
    return [typeof origin, origin <= now, origin + performance.now() - now < 1000];
  });
  await check("performance toJSON", () => Object.keys(performance.toJSON()).includes("timeOrigin"));

  // URL, events, streams and the fetch classes (suite-fetch.js); keys and signatures
  // (suite-crypto.js).
  await fetchApiChecks(check);
  await cryptoChecks(check);
  return results;
}

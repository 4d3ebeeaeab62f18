// `URL` and `URLSearchParams` as the URL Standard defines them. Parsing, the component
// setters and the form encoding are done in Rust (url.rs, forms.rs) by the `url` crate,
// which follows the standard. Evaluated after streams.js.
(function (host, shared) {
  "use strict";

  const SafeTypeError = TypeError;
  const HREF = 0;
  const ORIGIN = 1;
  const PROTOCOL = 2;
  const USERNAME = 3;
  const PASSWORD = 4;
  const HOST = 5;
  const HOSTNAME = 6;
  const PORT = 7;
  const PATHNAME = 8;
  const SEARCH = 9;
  const HASH = 10;

  // Which URL a URLSearchParams belongs to, and how to tell it of a change.
  const owners = new WeakMap();

  const pairsOf = (init) => {
    if (init === undefined || init === null) return [];
    if (typeof init === "object" || typeof init === "function") {
      if (init instanceof URLSearchParams) return shared.searchPairs(init).map((pair) => [pair[0], pair[1]]);
      if (typeof init[Symbol.iterator] === "function") {
        const pairs = [];
        for (const pair of init) {
          const list = Array.from(pair, (part) => String(part));
          if (list.length !== 2) throw new SafeTypeError("URLSearchParams: each pair must have exactly two items");
          pairs.push(list);
        }
        return pairs;
      }
      return Object.keys(init).map((key) => [key, String(init[key])]);
    }
    const text = String(init);
    return host.formParse(text[0] === "?" ? text.slice(1) : text);
  };

  class URLSearchParams {
    #pairs;
    constructor(init = undefined) {
      this.#pairs = pairsOf(init);
    }
    static {
      shared.searchPairs = (params) => params.#pairs;
      shared.searchReplace = (params, text) => {
        params.#pairs = host.formParse(text);
      };
    }
    #changed() {
      const url = owners.get(this);
      if (url) shared.urlQueryChanged(url, this.toString());
    }
    get size() {
      return this.#pairs.length;
    }
    append(name, value) {
      this.#pairs.push([String(name), String(value)]);
      this.#changed();
    }
    delete(name, value = undefined) {
      name = String(name);
      const match = value === undefined ? (pair) => pair[0] === name : (pair) => pair[0] === name && pair[1] === String(value);
      this.#pairs = this.#pairs.filter((pair) => !match(pair));
      this.#changed();
    }
    get(name) {
      name = String(name);
      const found = this.#pairs.find((pair) => pair[0] === name);
      return found === undefined ? null : found[1];
    }
    getAll(name) {
      name = String(name);
      return this.#pairs.filter((pair) => pair[0] === name).map((pair) => pair[1]);
    }
    has(name, value = undefined) {
      name = String(name);
      if (value === undefined) return this.#pairs.some((pair) => pair[0] === name);
      value = String(value);
      return this.#pairs.some((pair) => pair[0] === name && pair[1] === value);
    }
    set(name, value) {
      name = String(name);
      value = String(value);
      const at = this.#pairs.findIndex((pair) => pair[0] === name);
      if (at < 0) {
        this.#pairs.push([name, value]);
      } else {
        this.#pairs[at] = [name, value];
        this.#pairs = this.#pairs.filter((pair, index) => index <= at || pair[0] !== name);
      }
      this.#changed();
    }
    sort() {
      // Stable, by UTF-16 code units, as the standard asks.
      const indexed = this.#pairs.map((pair, index) => [pair, index]);
      indexed.sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1]));
      this.#pairs = indexed.map((entry) => entry[0]);
      this.#changed();
    }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== "function") throw new SafeTypeError("URLSearchParams.forEach: the callback must be a function");
      for (let i = 0; i < this.#pairs.length; i++) {
        const [name, value] = this.#pairs[i];
        callback.call(thisArg, value, name, this);
      }
    }
    keys() {
      return this.#pairs.map((pair) => pair[0])[Symbol.iterator]();
    }
    values() {
      return this.#pairs.map((pair) => pair[1])[Symbol.iterator]();
    }
    entries() {
      return this.#pairs.map((pair) => [pair[0], pair[1]])[Symbol.iterator]();
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    toString() {
      return host.formSerialize(this.#pairs);
    }
    get [Symbol.toStringTag]() {
      return "URLSearchParams";
    }
  }

  const parse = (url, base) => {
    const text = String(url);
    if (base === undefined) return host.urlParse(text, undefined);
    return host.urlParse(text, String(base));
  };

  class URL {
    #parts;
    #query = null;
    constructor(url, base = undefined) {
      if (arguments.length === 0) throw new SafeTypeError("URL: a URL is required");
      const parts = parse(url, base);
      if (parts === null || parts === undefined) {
        const against = base === undefined ? "" : ` against ${JSON.stringify(String(base))}`;
        throw new SafeTypeError(`Invalid URL: ${JSON.stringify(String(url))}${against}`);
      }
      this.#parts = parts;
    }
    static {
      shared.urlQueryChanged = (url, query) => {
        url.#parts = host.urlSet(url.#parts[HREF], "search", query);
      };
    }
    static canParse(url, base = undefined) {
      const parts = parse(url, base);
      return parts !== null && parts !== undefined;
    }
    static parse(url, base = undefined) {
      try {
        return new URL(url, base);
      } catch {
        return null;
      }
    }
    #set(part, value) {
      this.#parts = host.urlSet(this.#parts[HREF], part, String(value));
      if ((part === "href" || part === "search") && this.#query !== null) {
        shared.searchReplace(this.#query, this.#parts[SEARCH].slice(1));
      }
    }
    get href() { return this.#parts[HREF]; }
    set href(value) {
      const parts = host.urlParse(String(value), undefined);
      if (parts === null || parts === undefined) throw new SafeTypeError(`Invalid URL: ${JSON.stringify(String(value))}`);
      this.#set("href", value);
    }
    get origin() { return this.#parts[ORIGIN]; }
    get protocol() { return this.#parts[PROTOCOL]; }
    set protocol(value) { this.#set("protocol", value); }
    get username() { return this.#parts[USERNAME]; }
    set username(value) { this.#set("username", value); }
    get password() { return this.#parts[PASSWORD]; }
    set password(value) { this.#set("password", value); }
    get host() { return this.#parts[HOST]; }
    set host(value) { this.#set("host", value); }
    get hostname() { return this.#parts[HOSTNAME]; }
    set hostname(value) { this.#set("hostname", value); }
    get port() { return this.#parts[PORT]; }
    set port(value) { this.#set("port", value); }
    get pathname() { return this.#parts[PATHNAME]; }
    set pathname(value) { this.#set("pathname", value); }
    get search() { return this.#parts[SEARCH]; }
    set search(value) { this.#set("search", value); }
    get hash() { return this.#parts[HASH]; }
    set hash(value) { this.#set("hash", value); }
    get searchParams() {
      if (this.#query === null) {
        this.#query = new URLSearchParams(this.#parts[SEARCH].slice(1));
        owners.set(this.#query, this);
      }
      return this.#query;
    }
    toString() {
      return this.#parts[HREF];
    }
    toJSON() {
      return this.#parts[HREF];
    }
    get [Symbol.toStringTag]() {
      return "URL";
    }
  }

  const globals = { URL, URLSearchParams };
  shared.URL = URL;
  shared.URLSearchParams = URLSearchParams;
  shared.install(globals);
  return shared;
})

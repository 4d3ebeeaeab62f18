// The test prelude of `ferry test` and `POST /engine/run_tests`, evaluated before a test
// file (`*.test.js|ts`) and only there: `describe`, `it`/`test` (with `.skip` and `.only`),
// `beforeAll`/`afterAll`/`beforeEach`/`afterEach`, `expect` with Jest's common matchers
// (`.not`, `.resolves`, `.rejects`) and `assert`, as aiwebengine's test prelude offers
// them. The file's top level declares the tests; the engine then calls `runTests`, which
// runs them in order, each in a savepoint of the run's database transaction (rolled back
// after the test) and each from a fresh timer turn, so that each has the call time limit
// to itself; an async test also fails when it outlasts `timeout`.
(function (host, internal) {
  "use strict";

  const SafeError = Error;
  const SafeTypeError = TypeError;
  const SafePromise = Promise;
  const SafeMap = Map;
  const SafeSet = Set;
  const SafeDate = Date;
  const SafeRegExp = RegExp;
  const stringify = JSON.stringify;
  const isArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const getPrototypeOf = Object.getPrototypeOf;
  const ownKeys = Object.keys;
  const is = Object.is;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const hasOwn = Object.hasOwn;
  const now = () => SafeDate.now();
  const setTimer = setTimeout;
  const clearTimer = clearTimeout;

  // ---- Declaring tests ----

  const root = { name: "", parent: null, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], skip: false, only: false };
  let current = root;
  let running = false;
  const tests = [];

  const refuseWhileRunning = (what) => {
    if (running) throw new SafeError(`${what}() declares tests: call it at the top level of the test file or inside describe()`);
  };
  const checkName = (what, name, fn) => {
    if (typeof name !== "string") throw new SafeTypeError(`${what}(name, fn): the name must be a string`);
    if (typeof fn !== "function") throw new SafeTypeError(`${what}(${stringify(name)}, fn): fn must be a function`);
  };

  const declareGroup = (mode) =>
    function describe(name, fn) {
      refuseWhileRunning("describe");
      checkName("describe", name, fn);
      const group = { name, parent: current, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], skip: mode === "skip", only: mode === "only" };
      current.children.push(group);
      const outer = current;
      current = group;
      try {
        const result = fn();
        if (result && typeof result.then === "function") {
          throw new SafeTypeError(`describe(${stringify(name)}, fn): fn must declare its tests without awaiting; await inside the tests or beforeAll()`);
        }
      } finally {
        current = outer;
      }
    };

  const declareTest = (mode) =>
    function it(name, fn) {
      refuseWhileRunning("it");
      if (mode === "todo") {
        if (typeof name !== "string") throw new SafeTypeError("it.todo(name): the name must be a string");
        const test = { name, group: current, fn: null, skip: true, only: false, todo: true };
        current.children.push(test);
        tests.push(test);
        return;
      }
      checkName("it", name, fn);
      const test = { name, group: current, fn, skip: mode === "skip", only: mode === "only", todo: false };
      current.children.push(test);
      tests.push(test);
    };

  const hook = (kind) =>
    function (fn) {
      refuseWhileRunning(kind);
      if (typeof fn !== "function") throw new SafeTypeError(`${kind}(fn): fn must be a function`);
      current[kind].push(fn);
    };

  const describe = declareGroup("run");
  describe.skip = declareGroup("skip");
  describe.only = declareGroup("only");
  const it = declareTest("run");
  it.skip = declareTest("skip");
  it.only = declareTest("only");
  it.todo = declareTest("todo");

  // ---- Comparing and showing values ----

  const show = (value, depth = 0) => {
    if (typeof value === "string") return stringify(value);
    if (typeof value === "bigint") return `${value}n`;
    if (typeof value === "function") return `[Function ${value.name || "anonymous"}]`;
    if (typeof value === "symbol" || value === undefined || value === null || typeof value !== "object") return String(value);
    if (value instanceof SafeError) return `${value.name}: ${value.message}`;
    if (value instanceof SafeDate) return `Date(${value.toISOString()})`;
    if (value instanceof SafeRegExp) return String(value);
    if (depth > 3) return isArray(value) ? "[…]" : "{…}";
    if (value instanceof SafeMap) return `Map {${[...value].map(([k, v]) => `${show(k, depth + 1)} => ${show(v, depth + 1)}`).join(", ")}}`;
    if (value instanceof SafeSet) return `Set {${[...value].map((v) => show(v, depth + 1)).join(", ")}}`;
    if (isArray(value)) return `[${value.map((v) => show(v, depth + 1)).join(", ")}]`;
    if (isView(value)) return `${value.constructor.name} [${Array.from(value).join(", ")}]`;
    if (typeof value.__html === "string") return `<${value.__html}>`;
    return `{${ownKeys(value).map((key) => `${key}: ${show(value[key], depth + 1)}`).join(", ")}}`;
  };

  // Jest's `toEqual` (`strict`: `toStrictEqual`, where undefined properties, holes and
  // prototypes count).
  const equals = (a, b, strict, seen = new SafeMap()) => {
    if (is(a, b)) return true;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (seen.get(a) === b) return true;
    seen.set(a, b);
    if (strict && getPrototypeOf(a) !== getPrototypeOf(b)) return false;
    if (a instanceof SafeDate || b instanceof SafeDate) {
      return a instanceof SafeDate && b instanceof SafeDate && is(a.getTime(), b.getTime());
    }
    if (a instanceof SafeRegExp || b instanceof SafeRegExp) return String(a) === String(b);
    if (a instanceof SafeError && b instanceof SafeError && (a.message !== b.message || a.name !== b.name)) return false;
    if (isArray(a) !== isArray(b)) return false;
    if (a instanceof SafeMap || b instanceof SafeMap) {
      if (!(a instanceof SafeMap && b instanceof SafeMap) || a.size !== b.size) return false;
      for (const [key, value] of a) if (!b.has(key) || !equals(value, b.get(key), strict, seen)) return false;
      return true;
    }
    if (a instanceof SafeSet || b instanceof SafeSet) {
      if (!(a instanceof SafeSet && b instanceof SafeSet) || a.size !== b.size) return false;
      outer: for (const value of a) {
        if (b.has(value)) continue;
        for (const other of b) if (equals(value, other, strict, seen)) continue outer;
        return false;
      }
      return true;
    }
    if (isView(a) || isView(b)) {
      if (!(isView(a) && isView(b)) || a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (!is(a[i], b[i])) return false;
      return true;
    }
    const keysOf = (value) => ownKeys(value).filter((key) => strict || value[key] !== undefined);
    const aKeys = keysOf(a);
    const bKeys = keysOf(b);
    if (aKeys.length !== bKeys.length) return false;
    if (isArray(a) && a.length !== b.length) return false;
    for (const key of aKeys) {
      if (!hasOwn(b, key) && (strict || b[key] !== undefined)) return false;
      if (!equals(a[key], b[key], strict, seen)) return false;
    }
    return true;
  };

  // `expected` matches `actual` as toMatchObject reads it: every property of `expected`,
  // recursively; arrays element by element.
  const matchesObject = (actual, expected) => {
    if (typeof expected !== "object" || expected === null) return equals(actual, expected, false);
    if (typeof actual !== "object" || actual === null) return false;
    if (isArray(expected)) {
      return isArray(actual) && actual.length === expected.length && expected.every((item, i) => matchesObject(actual[i], item));
    }
    return ownKeys(expected).every((key) => key in actual && matchesObject(actual[key], expected[key]));
  };

  class AssertionError extends SafeError {
    constructor(message) {
      super(message);
      this.name = "AssertionError";
    }
  }
  defineProperty(globalThis, "AssertionError", { value: AssertionError, writable: true, configurable: true, enumerable: false });

  // ---- expect ----

  const propertyAt = (value, path) => {
    const parts = isArray(path) ? path : String(path).split(".");
    let at = value;
    for (const part of parts) {
      if (at === null || at === undefined || !(typeof at === "object" || typeof at === "function") || !(part in Object(at))) {
        return { found: false };
      }
      at = at[part];
    }
    return { found: true, value: at };
  };

  const thrownBy = (fn) => {
    if (typeof fn !== "function") throw new SafeTypeError("expect(fn).toThrow(): give a function that throws");
    try {
      fn();
    } catch (error) {
      return { threw: true, error };
    }
    return { threw: false };
  };

  const errorMatches = (error, expected) => {
    if (expected === undefined) return true;
    const message = error instanceof SafeError ? error.message : String(error);
    if (typeof expected === "string") return message.includes(expected);
    if (expected instanceof SafeRegExp) return expected.test(message);
    if (typeof expected === "function") return error instanceof expected;
    if (expected instanceof SafeError) return message === expected.message;
    if (typeof expected === "object" && expected !== null) return matchesObject(error, expected);
    return false;
  };

  // Each matcher says whether it passed and how to describe it: `message(negated)`.
  const matchers = {
    toBe: (actual, expected) => [is(actual, expected), `${show(actual)} to be ${show(expected)}`],
    toEqual: (actual, expected) => [equals(actual, expected, false), `${show(actual)} to equal ${show(expected)}`],
    toStrictEqual: (actual, expected) => [equals(actual, expected, true), `${show(actual)} to strictly equal ${show(expected)}`],
    toMatchObject: (actual, expected) => [matchesObject(actual, expected), `${show(actual)} to match ${show(expected)}`],
    toBeTruthy: (actual) => [!!actual, `${show(actual)} to be truthy`],
    toBeFalsy: (actual) => [!actual, `${show(actual)} to be falsy`],
    toBeNull: (actual) => [actual === null, `${show(actual)} to be null`],
    toBeUndefined: (actual) => [actual === undefined, `${show(actual)} to be undefined`],
    toBeDefined: (actual) => [actual !== undefined, `${show(actual)} to be defined`],
    toBeNaN: (actual) => [typeof actual === "number" && actual !== actual, `${show(actual)} to be NaN`],
    toBeGreaterThan: (actual, n) => [actual > n, `${show(actual)} to be greater than ${show(n)}`],
    toBeGreaterThanOrEqual: (actual, n) => [actual >= n, `${show(actual)} to be at least ${show(n)}`],
    toBeLessThan: (actual, n) => [actual < n, `${show(actual)} to be less than ${show(n)}`],
    toBeLessThanOrEqual: (actual, n) => [actual <= n, `${show(actual)} to be at most ${show(n)}`],
    toBeCloseTo: (actual, expected, digits = 2) => [
      Math.abs(expected - actual) < 10 ** -digits / 2,
      `${show(actual)} to be close to ${show(expected)} (${digits} digits)`,
    ],
    toBeInstanceOf: (actual, type) => [actual instanceof type, `${show(actual)} to be an instance of ${type && type.name}`],
    toBeTypeOf: (actual, type) => [typeof actual === type, `${show(actual)} to be of type ${type}`],
    toContain: (actual, item) => [
      actual !== null && actual !== undefined && typeof actual.includes === "function" && actual.includes(item),
      `${show(actual)} to contain ${show(item)}`,
    ],
    toContainEqual: (actual, item) => [
      isArray(actual) && actual.some((element) => equals(element, item, false)),
      `${show(actual)} to contain an element equal to ${show(item)}`,
    ],
    toHaveLength: (actual, length) => [
      actual !== null && actual !== undefined && actual.length === length,
      `${show(actual)} to have length ${length}${actual !== null && actual !== undefined ? ` (it has ${actual.length})` : ""}`,
    ],
    toHaveProperty: (actual, path, ...value) => {
      const at = propertyAt(actual, path);
      const pass = at.found && (value.length === 0 || equals(at.value, value[0], false));
      return [pass, `${show(actual)} to have property ${show(path)}${value.length ? ` equal to ${show(value[0])}` : ""}`];
    },
    toMatch: (actual, pattern) => [
      typeof actual === "string" && (typeof pattern === "string" ? actual.includes(pattern) : new SafeRegExp(pattern).test(actual)),
      `${show(actual)} to match ${show(pattern)}`,
    ],
    toThrow: (actual, expected) => {
      const outcome = thrownBy(actual);
      const pass = outcome.threw && errorMatches(outcome.error, expected);
      const got = outcome.threw ? `it threw ${show(outcome.error)}` : "it did not throw";
      return [pass, `the function to throw${expected === undefined ? "" : ` ${show(expected)}`} (${got})`];
    },
  };
  matchers.toThrowError = matchers.toThrow;

  const fail = (message) => {
    throw new AssertionError(message);
  };

  function expect(actual) {
    const build = (negated, value, mode) => {
      const api = {};
      for (const [name, matcher] of Object.entries(matchers)) {
        api[name] = (...args) => {
          const check = (settled) => {
            const [pass, description] = matcher(settled, ...args);
            if (pass === negated) fail(`expected ${negated ? "not " : ""}${description}`);
          };
          if (mode === undefined) return check(value);
          return SafePromise.resolve(value).then(
            (resolved) => {
              if (mode === "rejects") fail(`expected the promise to reject, but it resolved to ${show(resolved)}`);
              return check(name === "toThrow" || name === "toThrowError" ? () => resolved : resolved);
            },
            (reason) => {
              if (mode === "resolves") fail(`expected the promise to resolve, but it rejected with ${show(reason)}`);
              return check(
                name === "toThrow" || name === "toThrowError"
                  ? () => {
                      throw reason;
                    }
                  : reason,
              );
            },
          );
        };
      }
      return api;
    };
    const api = build(false, actual);
    api.not = build(true, actual);
    api.resolves = build(false, actual, "resolves");
    api.resolves.not = build(true, actual, "resolves");
    api.rejects = build(false, actual, "rejects");
    api.rejects.not = build(true, actual, "rejects");
    return api;
  }

  // ---- assert ----

  function assert(condition, message) {
    if (!condition) fail(message ?? `expected ${show(condition)} to be truthy`);
  }
  assert.ok = assert;
  assert.equal = (actual, expected, message) => {
    if (!is(actual, expected)) fail(message ?? `expected ${show(actual)} to be ${show(expected)}`);
  };
  assert.notEqual = (actual, expected, message) => {
    if (is(actual, expected)) fail(message ?? `expected ${show(actual)} not to be ${show(expected)}`);
  };
  assert.deepEqual = (actual, expected, message) => {
    if (!equals(actual, expected, false)) fail(message ?? `expected ${show(actual)} to equal ${show(expected)}`);
  };
  assert.throws = (fn, expected, message) => {
    const outcome = thrownBy(fn);
    if (!outcome.threw || !errorMatches(outcome.error, expected)) {
      fail(message ?? `expected the function to throw${expected === undefined ? "" : ` ${show(expected)}`}`);
    }
  };
  assert.rejects = async (promise, expected, message) => {
    try {
      await (typeof promise === "function" ? promise() : promise);
    } catch (error) {
      if (!errorMatches(error, expected)) fail(message ?? `expected a rejection matching ${show(expected)}, got ${show(error)}`);
      return;
    }
    fail(message ?? "expected the promise to reject");
  };
  assert.fail = (message) => fail(message ?? "failed");

  // ---- Running ----

  const nextTurn = () => new SafePromise((resolve) => setTimer(resolve, 0));

  // Runs `fn` (a test or a hook), failing when its promise outlasts `timeout` ms.
  const within = async (fn, timeout) => {
    let timer;
    const expired = new SafePromise((_, reject) => {
      timer = setTimer(() => reject(new SafeError(`timed out after ${timeout} ms (an awaited promise never settled?)`)), timeout);
    });
    try {
      await SafePromise.race([SafePromise.resolve().then(fn), expired]);
    } finally {
      clearTimer(timer);
    }
  };

  const fullName = (test) => {
    const names = [test.name];
    for (let group = test.group; group && group !== root; group = group.parent) names.unshift(group.name);
    return names.join(" > ");
  };

  const groupsOf = (test) => {
    const groups = [];
    for (let group = test.group; group; group = group.parent) groups.unshift(group);
    return groups;
  };

  const described = (error) => ({
    message: error instanceof SafeError ? `${error.name}: ${error.message}` : `uncaught ${show(error)}`,
    stack: error instanceof SafeError && typeof error.stack === "string" ? error.stack : "",
  });

  // The savepoint of the test about to run, when the run's transaction is open.
  let savepoints = 0;
  const openSavepoint = () => {
    const transaction = host.sqlImplicit();
    if (transaction === 0) return null;
    const name = `ferry_test_${++savepoints}`;
    host.sqlSavepoint(transaction, "create", name);
    return { transaction, name };
  };
  const undo = (savepoint) => {
    if (savepoint !== null) {
      host.sqlSavepoint(savepoint.transaction, "rollback", savepoint.name);
      host.sqlSavepoint(savepoint.transaction, "release", savepoint.name);
      return;
    }
    // Opened during the test: all of it goes.
    const transaction = host.sqlImplicit();
    if (transaction !== 0) host.sqlEnd(transaction, false);
  };

  const runTests = async (filter, timeout) => {
    running = true;
    const only = tests.some((test) => test.only || groupsOf(test).some((group) => group.only));
    const results = [];
    const started = new SafeSet();
    const finished = new SafeSet();
    const pending = (group) => tests.filter((test) => groupsOf(test).includes(group) && !finished.has(test) && selected(test));
    const selected = (test) =>
      !test.skip &&
      !groupsOf(test).some((group) => group.skip) &&
      (!only || test.only || groupsOf(test).some((group) => group.only)) &&
      (filter === undefined || filter === null || fullName(test).includes(filter));
    for (const test of tests) {
      const name = fullName(test);
      if (!selected(test)) {
        if (test.skip || test.todo || groupsOf(test).some((group) => group.skip)) {
          results.push({ name, status: test.todo ? "todo" : "skipped", duration: 0 });
        }
        finished.add(test);
        continue;
      }
      await nextTurn();
      const began = now();
      const groups = groupsOf(test);
      let failure = null;
      try {
        for (const group of groups) {
          if (started.has(group)) continue;
          started.add(group);
          for (const fn of group.beforeAll) await within(fn, timeout);
        }
      } catch (error) {
        failure = { where: "beforeAll", ...described(error) };
      }
      const savepoint = openSavepoint();
      if (failure === null) {
        try {
          for (const group of groups) for (const fn of group.beforeEach) await within(fn, timeout);
          await within(test.fn, timeout);
        } catch (error) {
          failure = described(error);
        }
        for (const group of [...groups].reverse()) {
          for (const fn of group.afterEach) {
            try {
              await within(fn, timeout);
            } catch (error) {
              failure ??= { where: "afterEach", ...described(error) };
            }
          }
        }
      }
      try {
        undo(savepoint);
      } catch (error) {
        failure ??= { where: "rolling back", ...described(error) };
      }
      finished.add(test);
      // Groups with no test left to run end here.
      for (const group of [...groups].reverse()) {
        if (!started.has(group) || pending(group).length > 0) continue;
        started.delete(group);
        for (const fn of group.afterAll) {
          try {
            await within(fn, timeout);
          } catch (error) {
            failure ??= { where: "afterAll", ...described(error) };
          }
        }
      }
      const result = { name, status: failure === null ? "passed" : "failed", duration: now() - began };
      if (failure !== null) result.error = failure;
      results.push(result);
    }
    running = false;
    return stringify(results);
  };

  internal.tests.run = (filter, timeout) => {
    internal.tests.count = tests.length;
    return runTests(filter, timeout);
  };
  const globals = { describe, it, test: it, expect, assert, beforeAll: hook("beforeAll"), afterAll: hook("afterAll"), beforeEach: hook("beforeEach"), afterEach: hook("afterEach") };
  for (const [name, value] of Object.entries(globals)) {
    defineProperty(globalThis, name, { value: freeze(value), writable: true, configurable: true, enumerable: false });
  }
});

// `ReadableStream`, enough for bodies produced and consumed piece by piece: an underlying
// source (`start`, `pull`, `cancel`) with a queue and a high-water mark, a default reader,
// async iteration, `tee` and `ReadableStream.from`. Evaluated after events.js.
(function (host, shared) {
  "use strict";

  const SafeTypeError = TypeError;
  const SafeRangeError = RangeError;
  const SafePromise = Promise;
  const resolved = (value) => SafePromise.resolve(value);
  const rejected = (error) => SafePromise.reject(error);
  const deferred = () => {
    let resolve;
    let reject;
    const promise = new SafePromise((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise, resolve, reject };
  };
  const newKey = Symbol("internal");

  // The state of one stream, kept out of the script's reach.
  const states = new WeakMap();
  const stateOf = (stream) => {
    const state = states.get(stream);
    if (state === undefined) throw new SafeTypeError("not a ReadableStream");
    return state;
  };

  const callPullIfNeeded = (state) => {
    if (!state.started || state.closeRequested || state.phase !== "readable") return;
    const wanted = (state.reader && state.reader.requests.length > 0) || desiredSize(state) > 0;
    if (!wanted) return;
    if (state.pulling) {
      state.pullAgain = true;
      return;
    }
    state.pulling = true;
    let outcome;
    try {
      outcome = resolved(state.source.pull ? state.source.pull.call(state.sourceThis, state.controller) : undefined);
    } catch (error) {
      outcome = rejected(error);
    }
    outcome.then(
      () => {
        state.pulling = false;
        if (state.pullAgain) {
          state.pullAgain = false;
          callPullIfNeeded(state);
        }
      },
      (error) => fail(state, error),
    );
  };

  const desiredSize = (state) => {
    if (state.phase === "errored") return null;
    if (state.phase === "closed") return 0;
    return state.highWaterMark - state.queueSize;
  };

  const finishClose = (state) => {
    state.phase = "closed";
    const reader = state.reader;
    if (reader) {
      for (const request of reader.requests.splice(0)) request.resolve({ value: undefined, done: true });
      reader.closed.resolve(undefined);
    }
  };

  const fail = (state, error) => {
    if (state.phase !== "readable") return;
    state.phase = "errored";
    state.storedError = error;
    state.queue = [];
    state.queueSize = 0;
    const reader = state.reader;
    if (reader) {
      for (const request of reader.requests.splice(0)) request.reject(error);
      reader.closed.reject(error);
      reader.closed.promise.catch(() => {});
    }
  };

  const cancel = (state, reason) => {
    state.disturbed = true;
    if (state.phase === "closed") return resolved(undefined);
    if (state.phase === "errored") return rejected(state.storedError);
    state.queue = [];
    state.queueSize = 0;
    finishClose(state);
    try {
      return resolved(state.source.cancel ? state.source.cancel.call(state.sourceThis, reason) : undefined).then(() => undefined);
    } catch (error) {
      return rejected(error);
    }
  };

  class ReadableStreamDefaultController {
    #state;
    constructor(key = undefined, state = undefined) {
      if (key !== newKey) throw new SafeTypeError("Illegal constructor");
      this.#state = state;
    }
    get desiredSize() {
      return desiredSize(this.#state);
    }
    enqueue(chunk = undefined) {
      const state = this.#state;
      if (state.closeRequested || state.phase !== "readable") {
        throw new SafeTypeError("ReadableStream: cannot enqueue after the stream is closed");
      }
      const reader = state.reader;
      if (reader && reader.requests.length > 0) {
        reader.requests.shift().resolve({ value: chunk, done: false });
      } else {
        let size = 1;
        if (state.size) {
          size = Number(state.size(chunk));
          if (!(size >= 0) || size === Infinity) {
            const error = new SafeRangeError("ReadableStream: the size of a chunk must be a finite, non-negative number");
            fail(state, error);
            throw error;
          }
        }
        state.queue.push({ chunk, size });
        state.queueSize += size;
      }
      callPullIfNeeded(state);
    }
    close() {
      const state = this.#state;
      if (state.closeRequested || state.phase !== "readable") {
        throw new SafeTypeError("ReadableStream: the stream is already closed");
      }
      state.closeRequested = true;
      if (state.queue.length === 0) finishClose(state);
    }
    error(error = undefined) {
      fail(this.#state, error);
    }
  }

  class ReadableStreamDefaultReader {
    #state;
    #own;
    constructor(stream) {
      const state = stateOf(stream);
      if (state.reader) throw new SafeTypeError("ReadableStream: the stream is locked to a reader");
      this.#state = state;
      this.#own = { requests: [], closed: deferred() };
      state.reader = this.#own;
      if (state.phase === "closed") this.#own.closed.resolve(undefined);
      if (state.phase === "errored") {
        this.#own.closed.reject(state.storedError);
        this.#own.closed.promise.catch(() => {});
      }
    }
    get closed() {
      return this.#own.closed.promise;
    }
    read() {
      const state = this.#state;
      if (state === undefined || state.reader !== this.#own) {
        return rejected(new SafeTypeError("ReadableStream: the reader has been released"));
      }
      state.disturbed = true;
      if (state.queue.length > 0) {
        const { chunk, size } = state.queue.shift();
        state.queueSize -= size;
        if (state.closeRequested && state.queue.length === 0) {
          finishClose(state);
        } else {
          callPullIfNeeded(state);
        }
        return resolved({ value: chunk, done: false });
      }
      if (state.phase === "closed") return resolved({ value: undefined, done: true });
      if (state.phase === "errored") return rejected(state.storedError);
      const request = deferred();
      this.#own.requests.push(request);
      callPullIfNeeded(state);
      return request.promise;
    }
    releaseLock() {
      const state = this.#state;
      if (state === undefined || state.reader !== this.#own) return;
      const released = new SafeTypeError("ReadableStream: the reader was released");
      for (const request of this.#own.requests.splice(0)) request.reject(released);
      if (state.phase === "readable") {
        this.#own.closed.reject(released);
        this.#own.closed.promise.catch(() => {});
      } else {
        this.#own.closed = deferred();
        this.#own.closed.reject(released);
        this.#own.closed.promise.catch(() => {});
      }
      state.reader = undefined;
      this.#state = undefined;
    }
    cancel(reason = undefined) {
      const state = this.#state;
      if (state === undefined) return rejected(new SafeTypeError("ReadableStream: the reader has been released"));
      return cancel(state, reason);
    }
  }

  class ReadableStream {
    constructor(source = undefined, strategy = undefined) {
      const underlying = source === undefined || source === null ? {} : source;
      if (typeof underlying !== "object" && typeof underlying !== "function") {
        throw new SafeTypeError("ReadableStream: the source must be an object");
      }
      if (underlying.type !== undefined && String(underlying.type) !== "bytes") {
        throw new SafeTypeError(`ReadableStream: ${String(underlying.type)} is not a stream type`);
      }
      const highWaterMark = strategy && strategy.highWaterMark !== undefined ? Number(strategy.highWaterMark) : 1;
      if (!(highWaterMark >= 0)) throw new SafeRangeError("ReadableStream: highWaterMark must be a non-negative number");
      const state = {
        phase: "readable",
        queue: [],
        queueSize: 0,
        highWaterMark: underlying.type === "bytes" && (!strategy || strategy.highWaterMark === undefined) ? 0 : highWaterMark,
        size: strategy && typeof strategy.size === "function" ? strategy.size : undefined,
        source: {
          pull: typeof underlying.pull === "function" ? underlying.pull : undefined,
          cancel: typeof underlying.cancel === "function" ? underlying.cancel : undefined,
        },
        sourceThis: underlying,
        started: false,
        pulling: false,
        pullAgain: false,
        closeRequested: false,
        disturbed: false,
        storedError: undefined,
        reader: undefined,
      };
      states.set(this, state);
      state.controller = new ReadableStreamDefaultController(newKey, state);
      const start = typeof underlying.start === "function" ? underlying.start.call(underlying, state.controller) : undefined;
      resolved(start).then(
        () => {
          state.started = true;
          callPullIfNeeded(state);
        },
        (error) => fail(state, error),
      );
    }
    get locked() {
      return stateOf(this).reader !== undefined;
    }
    cancel(reason = undefined) {
      const state = stateOf(this);
      if (state.reader) return rejected(new SafeTypeError("ReadableStream: the stream is locked to a reader"));
      return cancel(state, reason);
    }
    getReader(options = undefined) {
      if (options && options.mode !== undefined) {
        throw new SafeRangeError(`ReadableStream: reader mode ${String(options.mode)} is not supported`);
      }
      return new ReadableStreamDefaultReader(this);
    }
    tee() {
      const reader = this.getReader();
      let canceled = 0;
      const reasons = [];
      let reading = false;
      const branches = [];
      const pull = () => {
        // A read in flight feeds both branches.
        if (reading) return resolved(undefined);
        reading = true;
        return reader.read().then(
          ({ value, done }) => {
            reading = false;
            for (const branch of branches) {
              const state = stateOf(branch);
              if (state.phase !== "readable" || state.closeRequested) continue;
              if (done) state.controller.close();
              else state.controller.enqueue(value);
            }
          },
          (error) => {
            for (const branch of branches) fail(stateOf(branch), error);
          },
        );
      };
      const branch = (index) =>
        new ReadableStream(
          {
            pull,
            cancel(reason) {
              reasons[index] = reason;
              canceled += 1;
              if (canceled === 2) return reader.cancel(reasons);
              return undefined;
            },
          },
          { highWaterMark: 0 },
        );
      branches.push(branch(0), branch(1));
      return [branches[0], branches[1]];
    }
    values(options = undefined) {
      const reader = this.getReader();
      const preventCancel = Boolean(options && options.preventCancel);
      const iterator = {
        next() {
          return reader.read().then((result) => {
            if (result.done) reader.releaseLock();
            return result;
          });
        },
        return(value = undefined) {
          if (!preventCancel) {
            const canceled = reader.cancel(value);
            reader.releaseLock();
            return canceled.then(() => ({ value, done: true }));
          }
          reader.releaseLock();
          return resolved({ value, done: true });
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      Object.setPrototypeOf(iterator, asyncIteratorPrototype);
      return iterator;
    }
    [Symbol.asyncIterator](options = undefined) {
      return this.values(options);
    }
    static from(source) {
      if (source instanceof ReadableStream) return source;
      const asyncMethod = source && source[Symbol.asyncIterator];
      const syncMethod = source && source[Symbol.iterator];
      if (typeof asyncMethod !== "function" && typeof syncMethod !== "function") {
        throw new SafeTypeError("ReadableStream.from: the source must be iterable");
      }
      const iterator = typeof asyncMethod === "function" ? asyncMethod.call(source) : syncMethod.call(source);
      return new ReadableStream(
        {
          async pull(controller) {
            const { value, done } = await iterator.next();
            if (done) controller.close();
            else controller.enqueue(await value);
          },
          async cancel(reason) {
            if (typeof iterator.return === "function") await iterator.return(reason);
          },
        },
        { highWaterMark: 0 },
      );
    }
  }
  const asyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf((async function* () {})()));

  // For the bodies of `Request` and `Response`.
  shared.streamDisturbed = (stream) => stateOf(stream).disturbed;
  shared.streamLocked = (stream) => stateOf(stream).reader !== undefined;
  shared.isReadableStream = (value) => states.has(value);
  shared.streamOfBytes = (bytes) =>
    new ReadableStream({
      start(controller) {
        if (bytes.length > 0) controller.enqueue(bytes);
        controller.close();
      },
    });

  const globals = { ReadableStream, ReadableStreamDefaultReader, ReadableStreamDefaultController };
  shared.ReadableStream = ReadableStream;
  shared.install(globals);
  return shared;
})

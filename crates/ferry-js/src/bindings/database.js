// SQL for scripts, on top of `host.sql*` (database.rs): `db`, shaped like Cloudflare D1,
// and aiwebengine's `database`, whose functions return JSON strings. Evaluated after the
// prelude, before the script; like the prelude it keeps the built-ins it uses.
(function (host) {
  "use strict";

  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const isArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const SafeError = Error;
  const SafeTypeError = TypeError;
  const SafePromise = Promise;
  const then = Function.prototype.call.bind(Promise.prototype.then);
  const SafeArrayBuffer = ArrayBuffer;
  const SafeUint8Array = Uint8Array;
  const SafeDate = Date;
  const isInteger = Number.isSafeInteger;
  const arrayFrom = Array.from;
  const keys = Object.keys;
  const min = Math.min;

  // In a test run (`ferry test`) every statement runs in one transaction the run rolls
  // back: statements outside transactions run in it, `db.transaction()` and aiwebengine's
  // beginTransaction() become savepoints of it.
  const testing = host.testing === true;
  const testTransaction = () => host.sqlImplicit() || host.sqlBegin(true, 60000);
  const within = (transaction) => (transaction === 0 && testing ? testTransaction() : transaction);

  // A value for a placeholder, as database.rs reads it.
  function encode(value) {
    switch (typeof value) {
      case "undefined":
        return null;
      case "boolean":
      case "string":
        return value;
      case "number":
        return value;
      case "bigint":
        return { $int: String(value) };
      case "object":
        if (value === null) return null;
        if (value instanceof SafeArrayBuffer) return { $bytes: arrayFrom(new SafeUint8Array(value)) };
        if (isView(value)) return { $bytes: arrayFrom(new SafeUint8Array(value.buffer, value.byteOffset, value.byteLength)) };
        if (value instanceof SafeDate) return value.toISOString();
        // Plain objects and arrays are stored as their JSON (for JSON columns).
        return stringify(value);
      default:
        throw new SafeTypeError(`db: a ${typeof value} cannot be bound to a statement`);
    }
  }

  const statementsJson = (statements) => stringify(statements.map((statement) => [statement.sql, statement.params]));
  const run = (transaction, statements) => parse(host.sqlRun(within(transaction), statementsJson(statements)));

  // A promise of `shape(outcomes)` for `statements`. Outside transactions on PostgreSQL
  // (once the script has loaded) they run off the worker, which serves other calls
  // meanwhile; elsewhere at once, and a failure to run throws at once, as it always has.
  function submit(transaction, statements, shape) {
    if (transaction === 0 && !testing) {
      const id = host.sqlRunLater(statementsJson(statements));
      if (id !== null && id !== undefined) return then(host.awaitHostCall(id), (text) => shape(parse(text)));
    }
    const outcomes = run(transaction, statements);
    try {
      return SafePromise.resolve(shape(outcomes));
    } catch (error) {
      return SafePromise.reject(error);
    }
  }

  const objects = (outcome) =>
    outcome.rows.map((row) => {
      const object = {};
      for (let i = 0; i < outcome.columns.length; i++) object[outcome.columns[i]] = row[i];
      return object;
    });

  const meta = (outcome) => ({
    duration: outcome.duration,
    changes: outcome.changes,
    last_row_id: outcome.lastRowId,
    changed_db: outcome.changes > 0,
    rows_read: outcome.rows.length,
    rows_written: outcome.changes,
  });

  const allResult = (outcome) => ({ success: true, results: objects(outcome), meta: meta(outcome) });

  // `db.prepare(sql)`: bind values, then all() / first() / run() / raw().
  class PreparedStatement {
    #transaction;
    constructor(transaction, sql, params) {
      this.#transaction = transaction;
      defineProperty(this, "sql", { value: sql, enumerable: true });
      defineProperty(this, "params", { value: params, enumerable: true });
      freeze(this);
    }
    get transaction() {
      return this.#transaction;
    }
    bind(...values) {
      return new PreparedStatement(this.#transaction, this.sql, values.map(encode));
    }
    #one(shape) {
      return submit(this.#transaction, [this], (outcomes) => shape(outcomes[0]));
    }
    all() {
      return this.#one(allResult);
    }
    first(column) {
      return this.#one((outcome) => {
        if (outcome.rows.length === 0) return null;
        const row = objects({ columns: outcome.columns, rows: [outcome.rows[0]] })[0];
        if (column === undefined) return row;
        if (!(column in row)) throw new SafeError(`db: the result has no column ${stringify(String(column))}`);
        return row[column];
      });
    }
    run() {
      return this.#one(allResult);
    }
    raw(options = {}) {
      return this.#one((outcome) => (options && options.columnNames ? [outcome.columns, ...outcome.rows] : outcome.rows));
    }
  }

  let nextSavepoint = 0;

  // `db`, or the `tx` a `db.transaction()` callback gets (the same API, in the transaction).
  function database(transaction) {
    const api = {
      get dialect() {
        return host.sqlDialect();
      },
      prepare(sql) {
        if (typeof sql !== "string") throw new SafeTypeError("db.prepare(sql): sql must be a string");
        return new PreparedStatement(transaction, sql, []);
      },
      batch(statements) {
        if (!isArray(statements)) throw new SafeTypeError("db.batch(statements): pass an array of prepared statements");
        for (const statement of statements) {
          if (!(statement instanceof PreparedStatement)) {
            throw new SafeTypeError("db.batch(statements): every entry must come from db.prepare()");
          }
        }
        if (statements.length === 0) return SafePromise.resolve([]);
        return submit(transaction, statements, (outcomes) => outcomes.map(allResult));
      },
      exec(sql) {
        if (transaction !== 0) {
          return SafePromise.reject(new SafeError("db.exec() runs outside transactions; use tx.prepare() inside one"));
        }
        const started = SafeDate.now();
        const count = host.sqlExec(within(0), String(sql));
        return SafePromise.resolve({ count, duration: SafeDate.now() - started });
      },
      // Runs `callback(tx)`; commits when it returns (or its promise resolves), rolls back
      // when it throws. Nested, it is a savepoint.
      async transaction(callback, options = {}) {
        if (typeof callback !== "function") throw new SafeTypeError("db.transaction(callback): callback must be a function");
        if (transaction !== 0 || testing) {
          const outer = within(transaction);
          const name = `nested_${++nextSavepoint}`;
          host.sqlSavepoint(outer, "create", name);
          try {
            const result = await callback(api);
            host.sqlSavepoint(outer, "release", name);
            return result;
          } catch (error) {
            host.sqlSavepoint(outer, "rollback", name);
            host.sqlSavepoint(outer, "release", name);
            throw error;
          }
        }
        const id = host.sqlBegin(false, options && options.timeout);
        let result;
        try {
          result = await callback(database(id));
        } catch (error) {
          try {
            host.sqlEnd(id, false);
          } catch {
            // Already ended (past its time): the error that ended the callback matters.
          }
          throw error;
        }
        host.sqlEnd(id, true);
        return result;
      },
    };
    return freeze(api);
  }

  const db = database(0);

  // ---- aiwebengine's `database`: every function returns a JSON string. ----

  const NAME = /^[a-z][a-z0-9_]{0,62}$/;
  const OPERATORS = freeze({ $gt: ">", $gte: ">=", $lt: "<", $lte: "<=", $ne: "<>" });

  class Refusal extends SafeError {}

  function name(value, what) {
    if (typeof value !== "string" || !NAME.test(value) || value.startsWith("pg_")) {
      throw new Refusal(`the ${what} name ${stringify(value)} is not allowed: use lower-case letters, digits and _, starting with a letter (at most 63, not pg_)`);
    }
    return `"${value}"`;
  }

  function json(text, what) {
    if (text === undefined || text === null || text === "") return undefined;
    if (typeof text !== "string") return text;
    try {
      return parse(text);
    } catch {
      throw new Refusal(`the ${what} must be JSON; got ${text}`);
    }
  }

  // Runs one statement in the call's transaction, if it has one.
  function one(sql, params = []) {
    return run(host.sqlImplicit(), [{ sql, params: params.map(encode) }])[0];
  }

  function columnsOf(table) {
    return one(`SELECT * FROM ${name(table, "table")} LIMIT 0`).columns;
  }

  function tableExists(table) {
    try {
      columnsOf(table);
      return true;
    } catch (error) {
      if (error instanceof Refusal) throw error;
      return false;
    }
  }

  // Errors come back as `{error}`; an unreachable database still throws (503 uncaught).
  function answer(work) {
    try {
      return stringify(work());
    } catch (error) {
      if (error && error.ferryStatus === 503) throw error;
      const message = error && error.message ? String(error.message).replace(/^db: /, "") : String(error);
      return stringify({ error: message });
    }
  }

  function where(filters, params) {
    const clauses = [];
    for (const column of keys(filters)) {
      const quoted = name(column, "column");
      const condition = filters[column];
      if (condition !== null && typeof condition === "object" && !isArray(condition)) {
        for (const operator of keys(condition)) {
          const sql = OPERATORS[operator];
          if (sql === undefined) {
            throw new Refusal(`the filter operator ${operator} is not known; use $gt, $gte, $lt, $lte or $ne`);
          }
          params.push(condition[operator]);
          clauses.push(`${quoted} ${sql} ?`);
        }
      } else if (condition === null) {
        clauses.push(`${quoted} IS NULL`);
      } else {
        params.push(condition);
        clauses.push(`${quoted} = ?`);
      }
    }
    return clauses.length ? ` WHERE ${clauses.join(" AND ")}` : "";
  }

  const postgres = () => host.sqlDialect() === "postgres";
  const NOW_SQLITE = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))";

  function columnType(kind) {
    const pg = postgres();
    switch (kind) {
      case "integer":
        return "INTEGER";
      case "bigint":
        return pg ? "BIGINT" : "INTEGER";
      case "float":
        return pg ? "DOUBLE PRECISION" : "REAL";
      case "text":
        return "TEXT";
      case "boolean":
        return "BOOLEAN";
      case "timestamp":
        return pg ? "TIMESTAMPTZ" : "TIMESTAMP";
    }
    throw new Refusal(`the column type ${kind} is not known`);
  }

  // A default value as SQL, checked for its column's type (never spliced as given).
  function defaultValue(kind, value) {
    if (value === undefined || value === null) return "";
    const text = String(value);
    switch (kind) {
      case "integer":
      case "bigint":
        if (!/^-?\d{1,18}$/.test(text)) throw new Refusal(`the default ${stringify(text)} is not a whole number`);
        return ` DEFAULT ${text}`;
      case "float":
        if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new Refusal(`the default ${stringify(text)} is not a number`);
        return ` DEFAULT ${text}`;
      case "boolean": {
        const truth = { true: true, "1": true, t: true, yes: true, false: false, "0": false, f: false, no: false }[text.toLowerCase()];
        if (truth === undefined) throw new Refusal(`the default ${stringify(text)} is not true or false`);
        return postgres() ? ` DEFAULT ${truth ? "TRUE" : "FALSE"}` : ` DEFAULT ${truth ? 1 : 0}`;
      }
      case "timestamp":
        if (/^(now\(\)|current_timestamp)$/i.test(text)) return postgres() ? " DEFAULT now()" : ` DEFAULT ${NOW_SQLITE}`;
        if (!/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
          throw new Refusal(`the default ${stringify(text)} is not NOW(), CURRENT_TIMESTAMP or an ISO 8601 date or time`);
        }
        return ` DEFAULT '${text}'`;
      default:
        return ` DEFAULT '${text.replace(/'/g, "''")}'`;
    }
  }

  function addColumn(table, column, kind, nullable, value) {
    const quotedTable = name(table, "table");
    const quoted = name(column, "column");
    if (columnsOf(table).includes(column)) return { success: true, column, existed: true };
    const notNull = nullable === false ? " NOT NULL" : "";
    one(`ALTER TABLE ${quotedTable} ADD COLUMN ${quoted} ${columnType(kind)}${notNull}${defaultValue(kind, value)}`);
    return { success: true, column };
  }

  function oneRow(outcome) {
    return outcome.rows.length ? objects(outcome)[0] : null;
  }

  function values(data, what) {
    const object = json(data, what);
    if (object === undefined || object === null || typeof object !== "object" || isArray(object)) {
      throw new Refusal(`the ${what} must be a JSON object of column names and values`);
    }
    const columns = keys(object);
    for (const column of columns) name(column, "column");
    return { object, columns };
  }

  function keyList(keys) {
    const list = typeof keys === "string" && !keys.trim().startsWith("[") ? [keys] : json(keys, "key columns");
    if (!isArray(list) || list.length === 0) throw new Refusal("the key columns must be a column name or a JSON array of them");
    for (const column of list) name(column, "column");
    return list;
  }

  function graphQLFor(table, options) {
    const settings = json(options, "options") ?? {};
    const columns = parse(host.sqlDescribe(String(table)));
    if (columns.length === 0) throw new Refusal(`there is no table ${table}`);
    const singular = table.replace(/s$/, "");
    const typeName = singular.replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase());
    const plural = table.replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase());
    const scalar = (column) =>
      column.name === "id" ? "ID" : { integer: "Int", float: "Float", boolean: "Boolean" }[column.kind] ?? "String";
    const fields = columns.map((column) => `${column.name}: ${scalar(column)}`).join(" ");
    const inputs = columns.filter((column) => column.name !== "id").map((column) => `${column.name}: ${scalar(column)}`).join(", ");
    const visibility = settings.visibility;
    const rows = (text) => parse(text);
    const type = `type ${typeName} { ${fields} }`;
    const registry = globalThis.graphQLRegistry;
    const queries = [`get${typeName}`, `list${plural}`];
    const mutations = [`create${typeName}`, `update${typeName}`, `delete${typeName}`];
    registry.registerQuery(queries[0], `${type} type Query { ${queries[0]}(id: ID!): ${typeName} }`,
      (context) => rows(api.query(table, stringify({ id: Number(context.args.id) }), 1))[0] ?? null, visibility);
    registry.registerQuery(queries[1], `type Query { ${queries[1]}(limit: Int): [${typeName}!]! }`,
      (context) => rows(api.query(table, null, context.args.limit ?? 100)), visibility);
    const checked = (text) => {
      const result = rows(text);
      if (result && result.error) throw new SafeError(result.error);
      return result;
    };
    registry.registerMutation(mutations[0], `type Mutation { ${mutations[0]}(${inputs}): ${typeName} }`,
      (context) => checked(api.insert(table, stringify(context.args))), visibility);
    registry.registerMutation(mutations[1], `type Mutation { ${mutations[1]}(id: ID!${inputs ? ", " + inputs : ""}): ${typeName} }`,
      (context) => {
        const { id, ...rest } = context.args;
        return checked(api.update(table, Number(id), stringify(rest)));
      }, visibility);
    registry.registerMutation(mutations[2], `type Mutation { ${mutations[2]}(id: ID!): Boolean }`,
      (context) => checked(api.delete(table, Number(context.args.id))).deleted, visibility);
    return { success: true, table, queries, mutations };
  }

  const api = {
    createTable: (table) =>
      answer(() => {
        const quoted = name(table, "table");
        const id = postgres() ? "id BIGSERIAL PRIMARY KEY" : "id INTEGER PRIMARY KEY AUTOINCREMENT";
        one(`CREATE TABLE IF NOT EXISTS ${quoted} (${id})`);
        return { success: true, tableName: table, physicalName: table };
      }),
    dropTable: (table) =>
      answer(() => {
        const quoted = name(table, "table");
        const existed = tableExists(table);
        if (existed) one(`DROP TABLE ${quoted}`);
        return { success: true, tableName: table, dropped: existed };
      }),
    addIntegerColumn: (table, column, nullable, value) => answer(() => addColumn(table, column, "integer", nullable, value)),
    addBigintColumn: (table, column, nullable, value) => answer(() => addColumn(table, column, "bigint", nullable, value)),
    addFloatColumn: (table, column, nullable, value) => answer(() => addColumn(table, column, "float", nullable, value)),
    addTextColumn: (table, column, nullable, value) => answer(() => addColumn(table, column, "text", nullable, value)),
    addBooleanColumn: (table, column, nullable, value) => answer(() => addColumn(table, column, "boolean", nullable, value)),
    addTimestampColumn: (table, column, nullable, value) => answer(() => addColumn(table, column, "timestamp", nullable, value)),
    addReferenceColumn: (table, column, referenced, nullable) =>
      answer(() => {
        const quotedTable = name(table, "table");
        const quoted = name(column, "column");
        const target = name(referenced, "table");
        const foreignKey = `${table}.${column} -> ${referenced}`;
        if (columnsOf(table).includes(column)) return { success: true, foreignKey, nullable: nullable !== false, existed: true };
        const kind = postgres() ? "BIGINT" : "INTEGER";
        const notNull = nullable === false ? " NOT NULL" : "";
        one(`ALTER TABLE ${quotedTable} ADD COLUMN ${quoted} ${kind}${notNull} REFERENCES ${target} (id)`);
        return { success: true, foreignKey, nullable: nullable !== false };
      }),
    dropColumn: (table, column) =>
      answer(() => {
        const quotedTable = name(table, "table");
        const quoted = name(column, "column");
        if (column === "id") throw new Refusal("the id column cannot be dropped");
        const existed = columnsOf(table).includes(column);
        if (existed) one(`ALTER TABLE ${quotedTable} DROP COLUMN ${quoted}`);
        return { success: true, tableName: table, columnName: column, dropped: existed };
      }),
    addUniqueIndex: (table, columns) =>
      answer(() => {
        const quotedTable = name(table, "table");
        const list = keyList(columns);
        const index = name(`${table}_${list.join("_")}_key`.slice(0, 63), "index");
        one(`CREATE UNIQUE INDEX IF NOT EXISTS ${index} ON ${quotedTable} (${list.map((c) => `"${c}"`).join(", ")})`);
        return { success: true, tableName: table, columns: list };
      }),
    query: (table, filters, limit = 100, orderBy, orderDir = "asc") =>
      answer(() => {
        const quoted = name(table, "table");
        const params = [];
        const conditions = where(json(filters, "filters") ?? {}, params);
        let sql = `SELECT * FROM ${quoted}${conditions}`;
        if (orderBy !== undefined && orderBy !== null && orderBy !== "") {
          const direction = String(orderDir).toLowerCase();
          if (direction !== "asc" && direction !== "desc") throw new Refusal(`the sort direction ${stringify(orderDir)} is neither asc nor desc`);
          sql += ` ORDER BY ${name(orderBy, "column")} ${direction.toUpperCase()}`;
        }
        const count = limit === undefined || limit === null ? 100 : Number(limit);
        if (!isInteger(count) || count < 1) throw new Refusal(`the limit ${stringify(limit)} is not a positive whole number`);
        params.push(min(count, 1000));
        return objects(one(`${sql} LIMIT ?`, params));
      }),
    insert: (table, data) =>
      answer(() => {
        const quoted = name(table, "table");
        const { object, columns } = values(data, "data");
        if (columns.length === 0) return oneRow(one(`INSERT INTO ${quoted} DEFAULT VALUES RETURNING *`));
        const sql = `INSERT INTO ${quoted} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) RETURNING *`;
        return oneRow(one(sql, columns.map((c) => object[c])));
      }),
    update: (table, id, data) =>
      answer(() => {
        const quoted = name(table, "table");
        const { object, columns } = values(data, "data");
        if (columns.length === 0) throw new Refusal("the data has no columns to update");
        const sql = `UPDATE ${quoted} SET ${columns.map((c) => `"${c}" = ?`).join(", ")} WHERE id = ? RETURNING *`;
        const row = oneRow(one(sql, [...columns.map((c) => object[c]), id]));
        if (row === null) throw new Refusal(`there is no row with id ${stringify(id)} in ${table}`);
        return row;
      }),
    delete: (table, id) =>
      answer(() => {
        const quoted = name(table, "table");
        const outcome = one(`DELETE FROM ${quoted} WHERE id = ?`, [id]);
        return { success: true, deleted: outcome.changes > 0 };
      }),
    upsert: (table, keys, data) =>
      answer(() => {
        const quoted = name(table, "table");
        const list = keyList(keys);
        const { object, columns } = values(data, "data");
        for (const key of list) {
          if (!columns.includes(key)) throw new Refusal(`the data has no value for the key column ${key}`);
        }
        const rest = columns.filter((c) => !list.includes(c));
        const updates = (rest.length ? rest : list).map((c) => `"${c}" = excluded."${c}"`).join(", ");
        const sql = `INSERT INTO ${quoted} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ` +
          `ON CONFLICT (${list.map((c) => `"${c}"`).join(", ")}) DO UPDATE SET ${updates} RETURNING *`;
        return oneRow(one(sql, columns.map((c) => object[c])));
      }),
    deleteWhere: (table, filters) =>
      answer(() => {
        const quoted = name(table, "table");
        const params = [];
        const conditions = where(json(filters, "filters") ?? {}, params);
        if (conditions === "") throw new Refusal("deleteWhere needs at least one filter (it never deletes every row)");
        const outcome = one(`DELETE FROM ${quoted}${conditions}`, params);
        return { success: true, deleted: outcome.changes };
      }),
    createLeaseTable: (table) =>
      answer(() => {
        const quoted = name(table, "table");
        const type = postgres() ? "TIMESTAMPTZ" : "TIMESTAMP";
        one(`CREATE TABLE IF NOT EXISTS ${quoted} (lease_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at ${type} NOT NULL)`);
        return { success: true, tableName: table, physicalName: table };
      }),
    // Compare-and-swap on the database's clock: free, expired or already ours → ours.
    acquireLease: (table, leaseId, owner, ttl) =>
      answer(() => {
        const quoted = name(table, "table");
        const ms = Number(ttl);
        if (!(ms > 0)) throw new Refusal("the lease time must be a positive number of milliseconds");
        const sql = postgres()
          ? `INSERT INTO ${quoted} (lease_id, owner, expires_at) VALUES (?, ?, now() + ? * interval '1 millisecond') ` +
            `ON CONFLICT (lease_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at ` +
            `WHERE ${quoted}.owner = excluded.owner OR ${quoted}.expires_at < now() RETURNING owner, expires_at`
          : `INSERT INTO ${quoted} (lease_id, owner, expires_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || (? / 1000.0) || ' seconds')) ` +
            `ON CONFLICT (lease_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at ` +
            `WHERE ${quoted}.owner = excluded.owner OR ${quoted}.expires_at < ${NOW_SQLITE} RETURNING owner, expires_at`;
        const won = oneRow(one(sql, [String(leaseId), String(owner), ms]));
        if (won !== null) return { acquired: true, owner: won.owner, expires_at: won.expires_at };
        const held = oneRow(one(`SELECT owner, expires_at FROM ${quoted} WHERE lease_id = ?`, [String(leaseId)]));
        return { acquired: false, owner: held ? held.owner : null, expires_at: held ? held.expires_at : null };
      }),
    generateGraphQLForTable: (table, options) =>
      answer(() => {
        name(table, "table");
        return graphQLFor(table, options);
      }),
    beginTransaction: (timeout) =>
      answer(() => {
        const current = testing ? testTransaction() : host.sqlImplicit();
        if (current !== 0) {
          const savepoint = host.sqlNest(current, undefined);
          return { success: true, message: `savepoint ${savepoint} created (nested transaction)` };
        }
        host.sqlBegin(true, timeout);
        return { success: true, message: "transaction started" };
      }),
    commitTransaction: () =>
      answer(() => {
        const current = host.sqlImplicit();
        if (current === 0) throw new Refusal("there is no transaction to commit");
        return { success: true, message: `${host.sqlUnnest(current, true)} committed` };
      }),
    rollbackTransaction: () =>
      answer(() => {
        const current = host.sqlImplicit();
        if (current === 0) throw new Refusal("there is no transaction to roll back");
        return { success: true, message: `${host.sqlUnnest(current, false)} rolled back` };
      }),
    createSavepoint: (savepoint) =>
      answer(() => {
        const current = host.sqlImplicit();
        if (current === 0) throw new Refusal("there is no transaction: call database.beginTransaction() first");
        return { success: true, savepoint: host.sqlNest(current, savepoint === undefined ? undefined : String(savepoint)) };
      }),
    rollbackToSavepoint: (savepoint) =>
      answer(() => {
        const current = host.sqlImplicit();
        if (current === 0) throw new Refusal("there is no transaction");
        host.sqlToSavepoint(current, String(savepoint), false);
        return { success: true, message: `rolled back to savepoint ${savepoint}` };
      }),
    releaseSavepoint: (savepoint) =>
      answer(() => {
        const current = host.sqlImplicit();
        if (current === 0) throw new Refusal("there is no transaction");
        host.sqlToSavepoint(current, String(savepoint), true);
        return { success: true, message: `released savepoint ${savepoint}` };
      }),
  };

  for (const [key, value] of [["db", db], ["database", freeze(api)]]) {
    defineProperty(globalThis, key, { value, writable: true, configurable: true, enumerable: false });
  }
})

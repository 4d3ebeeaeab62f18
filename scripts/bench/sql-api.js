// The server side of the SQL benchmark (scripts/bench/sql_api.sh): inserts and point reads
// through the script API, `db` (D1-shaped) and aiwebengine's `database`.
//   ferry run scripts/bench/sql-api.js [--database-url postgres://…]

async function init() {
  await db.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL)");
}

// One insert per request, as PocketBase's benchmark creates one record per request.
register("/insert", async () => {
  const row = await db.prepare("INSERT INTO items (name, n) VALUES (?, ?) RETURNING id").bind("item", 1).first();
  return String(row.id);
}, "POST");

register("/insert-aiwebengine", () => database.insert("items", '{"name": "item", "n": 2}'), "POST");

// One primary-key read per request, of a random row among the first `rows` ids.
let rows = 0;
register("/read", async () => {
  if (rows === 0) rows = await db.prepare("SELECT count(*) AS n FROM items").first("n");
  const id = 1 + Math.floor(Math.random() * rows);
  const row = await db.prepare("SELECT id, name, n FROM items WHERE id = ?").bind(id).first();
  return ResponseBuilder.json(row);
});

register("/count", async () => String(await db.prepare("SELECT count(*) AS n FROM items").first("n")));

// A GraphQL API:  ferry run examples/apps/graphql/app.js   (add --dev for GraphiQL in a browser)
//
//   curl localhost:8080/graphql -H 'content-type: application/json' \
//        -d '{"query":"mutation { addTodo(text: \"write docs\") { id text done } }"}'
//   curl -G localhost:8080/graphql --data-urlencode 'query={ todos { id text done } }'
//
// Each field brings its SDL and a resolver; Ferry assembles the schema from every script's
// fields and serves it at /graphql. Todos live in sharedStorage, shared by all workers.

const TODO = "type Todo { id: ID! text: String! done: Boolean! }";

function load() {
  return JSON.parse(sharedStorage.getItem("todos") || "[]");
}

function save(todos) {
  sharedStorage.setItem("todos", JSON.stringify(todos));
}

registerGraphQLQuery("todos", `todos(done: Boolean): [Todo!]! ${TODO}`, (context) => {
  const { done } = context.args;
  return load().filter((todo) => done === undefined || done === null || todo.done === done);
});

registerGraphQLQuery("todo", `todo(id: ID!): Todo ${TODO}`, (context) => {
  return load().find((todo) => todo.id === context.args.id) ?? null;
});

registerGraphQLMutation("addTodo", `addTodo(text: String!): Todo! ${TODO}`, (context) => {
  const text = context.args.text.trim();
  if (text === "") throw new Error("text must not be empty");
  const todos = load();
  const todo = { id: String(todos.reduce((max, t) => Math.max(max, Number(t.id)), 0) + 1), text, done: false };
  todos.push(todo);
  save(todos);
  return todo;
});

registerGraphQLMutation("setDone", `setDone(id: ID!, done: Boolean = true): Todo ${TODO}`, (context) => {
  const todos = load();
  const todo = todos.find((t) => t.id === context.args.id);
  if (!todo) throw new Error(`no todo ${context.args.id}`);
  todo.done = context.args.done;
  save(todos);
  return todo;
});

// Tools, resources and prompts for AI agents over MCP:
//   ferry run examples/apps/mcp/app.js          (Streamable HTTP at http://127.0.0.1:8080/mcp)
//   ferry mcp examples/apps/mcp/app.js          (stdio, for clients that start their servers)
//
// Arguments are checked against each tool's input schema before its handler runs; a
// handler that throws gives the model an error result it can read.

registerMCPTool(
  "add",
  "Adds two numbers.",
  { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] },
  (context) => String(context.args.a + context.args.b),
);

registerMCPTool(
  "save_note",
  "Saves a note under an id; read it back as the resource notes://{id}.",
  {
    type: "object",
    properties: { id: { type: "string", minLength: 1, maxLength: 40 }, text: { type: "string" } },
    required: ["id", "text"],
    additionalProperties: false,
  },
  (context) => {
    sharedStorage.setItem(`note:${context.args.id}`, context.args.text);
    return { saved: context.args.id, length: context.args.text.length };
  },
);

registerMCPResource("config://app", "app config", "The app's settings.", () => ({
  text: JSON.stringify({ name: "ferry mcp demo", version: 1 }),
  mimeType: "application/json",
}));

registerMCPResource("notes://{id}", "note", "A note saved with save_note.", (context) => {
  const text = sharedStorage.getItem(`note:${context.args.id}`);
  if (text === null) throw new Error(`no note ${context.args.id}`);
  return text;
}, "text/plain");

registerMCPPrompt(
  "summarize",
  "Asks for a summary of a text.",
  [{ name: "text", description: "What to summarize", required: true }],
  (context) => [
    { role: "user", content: `Summarize in one sentence:\n\n${context.args.text}` },
  ],
);

// aiwebengine's shape: the handler returns the MCP result object, and answers
// `completion/complete` for its arguments when `context.mode` is "completion".
const LANGUAGES = ["English", "Finnish", "French", "German", "Swedish"];
registerMCPPrompt(
  "translate",
  "Asks for a translation.",
  [
    { name: "text", description: "What to translate", required: true },
    { name: "language", description: "Into which language", required: true },
  ],
  (context) => {
    if (context.mode === "completion") {
      const typed = context.partialValue.toLowerCase();
      const values = context.completingArgument === "language"
        ? LANGUAGES.filter((language) => language.toLowerCase().startsWith(typed))
        : [];
      return { values, total: values.length, hasMore: false };
    }
    return {
      description: `Translate into ${context.args.language}`,
      messages: [
        { role: "user", content: { type: "text", text: `Translate into ${context.args.language}:\n\n${context.args.text}` } },
      ],
    };
  },
);

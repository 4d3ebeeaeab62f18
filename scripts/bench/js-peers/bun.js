// The five benchmark endpoints on Bun.serve.
// bun bun.js PORT
import { handle } from "./fetch-handler.mjs";

const port = Number(process.argv[2] ?? 3000);
Bun.serve({ port, hostname: "127.0.0.1", fetch: (req) => handle(req, "bun") });

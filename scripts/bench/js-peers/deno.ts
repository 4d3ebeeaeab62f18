// The five benchmark endpoints on Deno.serve.
// deno run --allow-net deno.ts PORT
import { handle } from "./fetch-handler.mjs";

const port = Number(Deno.args[0] ?? 3000);
Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, (req) => handle(req, "deno"));

// Runs suite.js on Deno and prints its results as JSON (crates/ferry-js/tests/web_platform.rs
// compares them with Ferry's):  deno run --allow-read tests/webapi/run-deno.js
const read = (name) => Deno.readTextFile(new URL(name, import.meta.url));
const source = [await read("./suite.js"), await read("./suite-fetch.js"), await read("./suite-crypto.js")].join("\n");
const webApiChecks = (0, eval)(`${source}\n;webApiChecks`);
console.log(JSON.stringify(await webApiChecks()));

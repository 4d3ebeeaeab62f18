// Runs suite.js on Deno and prints its results as JSON (crates/ferry-js/tests/web_platform.rs
// compares them with Ferry's):  deno run --allow-read tests/webapi/run-deno.js
const source = await Deno.readTextFile(new URL("./suite.js", import.meta.url));
const webApiChecks = (0, eval)(`${source}\n;webApiChecks`);
console.log(JSON.stringify(await webApiChecks()));

// Runs the graphql-http audit suite (GraphQL over HTTP conformance) against URL and prints
// one JSON object: every audit with its status ("ok", "warn" or "error") and reason.
//
//   node audit.mjs http://127.0.0.1:PORT/graphql

import { auditServer } from "graphql-http";

const [url] = process.argv.slice(2);
const results = await auditServer({ url });
const audits = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    entry.reason = result.reason;
    if (result.response) {
      entry.responseStatus = result.response.status;
      try {
        entry.body = await result.response.text();
      } catch {
        entry.body = null;
      }
    }
  }
  audits.push(entry);
}
console.log(JSON.stringify({ audits }));

// hello-JSON through `export default { fetch }` (scripts/bench/fetch_export.sh).
export default {
  fetch() {
    return Response.json({ message: "Hello, World!" });
  },
};

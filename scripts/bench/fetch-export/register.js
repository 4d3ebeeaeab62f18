// hello-JSON through register(): the baseline of scripts/bench/fetch_export.sh.
register("/json", () => ResponseBuilder.json({ message: "Hello, World!" }));

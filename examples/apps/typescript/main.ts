// A small links app in TypeScript: `ferry run examples/apps/typescript`, then open
// http://127.0.0.1:8080/. `ferry test examples/apps/typescript` runs links.test.ts.
import { addLink, allLinks, migrate, problemWith } from "./lib/links";
import { LinksPage } from "./views/page.tsx";

export async function init(): Promise<void> {
  await migrate();
}

register("/", async () => LinksPage({ links: await allLinks() }));

register("/api/links", async () => ResponseBuilder.json(await allLinks()));

register(
  "/links",
  async (context) => {
    const input = { title: String(context.request.form.title ?? ""), url: String(context.request.form.url ?? "") };
    const problem = problemWith(input);
    if (problem !== null) return ResponseBuilder.json({ error: problem }, 400);
    const link = await addLink(input);
    if (context.request.headers.accept?.includes("application/json")) return ResponseBuilder.json(link, 201);
    return ResponseBuilder.redirect("/");
  },
  "POST",
);

// `ferry test examples/apps/typescript`: these run in the sandbox, and what they write to
// the database is rolled back.
import { addLink, allLinks, migrate, problemWith, slugify } from "./lib/links.ts";
import { LinksPage } from "./views/page.tsx";

await migrate();

describe("slugify", () => {
  it("keeps letters and digits", () => {
    expect(slugify("Ferry's docs, 2nd edition!")).toBe("ferry-s-docs-2nd-edition");
  });
  it("is at most 60 characters", () => {
    expect(slugify("a".repeat(100))).toHaveLength(60);
  });
});

describe("problemWith", () => {
  it("accepts a web link", () => {
    expect(problemWith({ title: "Ferry", url: "https://example.com/" })).toBeNull();
  });
  it("refuses other schemes and missing fields", () => {
    expect(problemWith({ title: "x", url: "javascript:alert(1)" })).toBe("only http and https links");
    expect(problemWith({ url: "https://example.com/" })).toBe("a title is needed");
    expect(problemWith({ title: "x", url: "not a url" })).toMatch(/is not a URL/);
  });
});

describe("storage", () => {
  it("stores and lists links", async () => {
    await addLink({ title: "Ferry", url: "https://example.com/ferry" });
    await addLink({ title: "Another", url: "https://example.com/another" });
    expect((await allLinks()).map((link) => link.slug)).toEqual(["another", "ferry"]);
  });
  it("starts each test from an empty table", async () => {
    expect(await allLinks()).toEqual([]);
  });
});

test("the page escapes what users wrote", () => {
  const html = String(LinksPage({ links: [{ slug: "x", url: "https://example.com/", title: "<script>" }] }));
  expect(html).toContain("&lt;script&gt;");
  expect(html).not.toContain("<script>");
});

// Links: what the app stores, checked and kept in the script's own SQL tables.

export interface Link {
  slug: string;
  url: string;
  title: string;
}

/** "Ferry's docs!" → "ferry-s-docs". */
export function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
}

/** Why `input` cannot be stored, or null when it can. */
export function problemWith(input: Partial<Link>): string | null {
  if (!input.title || input.title.trim() === "") return "a title is needed";
  if (!input.url) return "a url is needed";
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return `${input.url} is not a URL`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "only http and https links";
  return null;
}

export async function migrate(): Promise<void> {
  await db.exec("CREATE TABLE IF NOT EXISTS links (slug TEXT PRIMARY KEY, url TEXT NOT NULL, title TEXT NOT NULL)");
}

export async function addLink(input: Omit<Link, "slug">): Promise<Link> {
  const link: Link = { slug: slugify(input.title), url: input.url, title: input.title.trim() };
  await db.prepare("INSERT INTO links (slug, url, title) VALUES (?, ?, ?)").bind(link.slug, link.url, link.title).run();
  return link;
}

export async function allLinks(): Promise<Link[]> {
  const { results } = await db.prepare("SELECT slug, url, title FROM links ORDER BY title").all<Link>();
  return results;
}

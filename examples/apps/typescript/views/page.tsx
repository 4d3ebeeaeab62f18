// The page, rendered on the server: JSX becomes escaped HTML.
import type { Link } from "../lib/links.ts";

const Layout = ({ title, children }: { title: string; children?: unknown }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <title>{title}</title>
    </head>
    <body>{children}</body>
  </html>
);

export const LinksPage = ({ links }: { links: Link[] }) => (
  <Layout title="Links">
    <h1>Links</h1>
    {links.length === 0 ? (
      <p>No links yet.</p>
    ) : (
      <ul>
        {links.map((link) => (
          <li>
            <a href={link.url}>{link.title}</a>
          </li>
        ))}
      </ul>
    )}
    <form method="post" action="/links">
      <input name="title" placeholder="Title" required />
      <input name="url" type="url" placeholder="https://…" required />
      <button>Add</button>
    </form>
  </Layout>
);

// Drives headless Chromium against a running ferry for the end-to-end tests.
//
//   node check.mjs isolation URL          -> {"isolated": bool, "sharedArrayBuffer": bool}
//   node check.mjs demo URL               -> the demo site's own check results
//   node check.mjs live-reload URL DIR    -> what live reload did (see liveReload below)
//   node check.mjs websocket URL          -> a WebSocket echo from the page at URL (/echo)
//   node check.mjs graphql-chat URL       -> two chat pages: what the second shows of the first
//   node check.mjs sign-in URL            -> a sign-in through the provider's page, protected
//                                            pages before and after signing out
//
// Prints one JSON object on stdout; exits non-zero on failure.

import { chromium } from "playwright-core";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const [mode, url, dir] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: process.env.FERRY_CHROMIUM || "/usr/bin/chromium",
  // Root in CI needs --no-sandbox; the network flags stop Chromium calling home on a
  // machine without internet access.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  // Ferry's self-signed certificates are not in the browser's trust store.
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  let result;
  if (mode === "isolation") {
    await page.goto(url);
    result = await page.evaluate(() => {
      let sharedArrayBuffer = false;
      try {
        sharedArrayBuffer = new SharedArrayBuffer(8).byteLength === 8;
      } catch {
        sharedArrayBuffer = false;
      }
      return { isolated: self.crossOriginIsolated === true, sharedArrayBuffer };
    });
  } else if (mode === "demo") {
    await page.goto(url);
    await page.waitForFunction(
      () => [...document.querySelectorAll(".checks span")].every((s) => s.className !== ""),
      null,
      { timeout: 10000 },
    );
    result = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll(".checks li")].map((li) => [li.id, li.querySelector("span").textContent]),
      ),
    );
  } else if (mode === "websocket") {
    await page.goto(url);
    result = await page.evaluate(webSocketEcho);
  } else if (mode === "graphql-chat") {
    result = await graphqlChat(browser, url);
  } else if (mode === "live-reload") {
    result = await liveReload(page, url, dir);
  } else if (mode === "sign-in") {
    result = await signIn(page, url);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}

// Opens a page that has no </body> or </html>, edits it on disk and waits for the browser
// to show the new text by itself; then edits a stylesheet and checks it is swapped in
// place (the page is not reloaded: a marker set on window survives).
async function liveReload(page, url, dir) {
  await page.goto(url);
  await page.waitForFunction(() => window.__ferryLiveReload?.readyState === 1, null, { timeout: 10000 });
  writeFileSync(join(dir, "index.html"), '<link rel="stylesheet" href="style.css"><p id="text">version two</p>');
  await page.waitForFunction(() => document.getElementById("text")?.textContent === "version two", null, {
    timeout: 10000,
  });
  const reloaded = true;

  await page.waitForFunction(() => window.__ferryLiveReload?.readyState === 1, null, { timeout: 10000 });
  await page.evaluate(() => {
    window.__ferryMarker = "still here";
  });
  const before = await page.evaluate(() => getComputedStyle(document.getElementById("text")).color);
  writeFileSync(join(dir, "style.css"), "#text { color: rgb(255, 0, 0); }\n");
  await page.waitForFunction(
    () => getComputedStyle(document.getElementById("text")).color === "rgb(255, 0, 0)",
    null,
    { timeout: 10000 },
  );
  const marker = await page.evaluate(() => window.__ferryMarker ?? null);
  return { reloaded, colorBefore: before, markerAfterCss: marker };
}

// Runs in the page: opens a WebSocket to /echo of the page's origin (wss: over HTTPS) and
// checks a text and a binary message come back.
async function webSocketEcho() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/echo`);
  socket.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("the WebSocket failed to open"));
  });
  const echo = (data) =>
    new Promise((resolve) => {
      socket.onmessage = (event) => resolve(event.data);
      socket.send(data);
    });
  const text = await echo("hello from the browser");
  const binary = Array.from(new Uint8Array(await echo(new Uint8Array([1, 2, 255]))));
  const closed = new Promise((resolve) => (socket.onclose = (event) => resolve(event.code)));
  socket.close(1000);
  return {
    text,
    binary,
    closeCode: await closed,
    pageProtocol: performance.getEntriesByType("navigation")[0].nextHopProtocol,
  };
}

// Opens the GraphQL chat example twice in one room; the first page sends a message and the
// second must show it (it arrives through the page's subscription over graphql-sse).
async function graphqlChat(browser, url) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const reader = await context.newPage();
  await reader.goto(`${url}?room=browser&name=reader`);
  const writer = await context.newPage();
  await writer.goto(`${url}?room=browser&name=writer`);
  // Keep sending until the reader's subscription is live and shows a message.
  for (let attempt = 0; attempt < 20; attempt++) {
    await writer.fill("#text", `hello ${attempt}`);
    await writer.press("#text", "Enter");
    try {
      await reader.waitForFunction(() => document.getElementById("log").textContent.includes("writer: hello"), null, {
        timeout: 500,
      });
      break;
    } catch {
      // not yet
    }
  }
  const shown = await reader.evaluate(() => document.getElementById("log").textContent);
  await context.close();
  return { shown };
}

// Opens a protected file: Ferry sends the browser to its sign-in page, the user picks the
// provider, types a name on the provider's own page and comes back to the file. Then a
// protected script route answers, the user signs out, and the file is closed again.
async function signIn(page, url) {
  await page.goto(`${url}private/doc.html`);
  const signInPage = page.url();
  await page.click("a.provider");
  await page.fill('input[name="sub"]', "alice");
  await page.click('button[type="submit"]:not([name])');
  await page.waitForURL(`${url}private/doc.html`, { timeout: 10000 });
  const file = await page.textContent("body");
  await page.goto(`${url}app/data`);
  const script = JSON.parse(await page.textContent("body"));
  const cookies = await page.context().cookies();
  await page.goto(`${url}auth/logout`);
  const afterSignOut = page.url();
  await page.goto(`${url}private/doc.html`);
  return {
    signInPage,
    file: file.trim(),
    script,
    cookie: cookies.map(({ name, httpOnly, sameSite }) => ({ name, httpOnly, sameSite })),
    afterSignOut,
    fileAgain: page.url(),
  };
}

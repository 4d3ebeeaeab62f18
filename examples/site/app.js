// Checks what WebAssembly apps need from the server, and shows the answers on the page.

function show(id, ok, detail) {
  const span = document.querySelector(`#${id} span`);
  span.textContent = ok ? `yes${detail ? ` (${detail})` : ""}` : `no${detail ? ` (${detail})` : ""}`;
  span.className = ok ? "ok" : "fail";
}

show("isolated", globalThis.crossOriginIsolated === true);

try {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  show("shared", memory.buffer instanceof SharedArrayBuffer);
} catch (error) {
  show("shared", false, error.message);
}

try {
  const { instance } = await WebAssembly.instantiateStreaming(fetch("wasm/add.wasm"));
  const sum = instance.exports.add(2, 3);
  show("wasm", sum === 5, `add(2, 3) = ${sum}`);
} catch (error) {
  show("wasm", false, error.message);
}

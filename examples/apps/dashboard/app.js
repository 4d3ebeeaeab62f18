// A live dashboard over Server-Sent Events:  ferry run examples/apps/dashboard/app.js
//
//   open http://localhost:8080/                       (every sensor, live)
//   open http://localhost:8080/?sensor=temperature    (one sensor)
//   curl -X POST localhost:8080/readings -d '{"sensor":"temperature","value":21.5}'
//
// Readings are posted to /readings, kept in sharedStorage (the latest per sensor) and pushed
// to the browsers following /live. Each browser's stream carries its metadata, { sensor },
// from the customizer below; a reading goes to the browsers watching its sensor or all ("*").

routeRegistry.registerStreamRoute("/live", (context) => ({
  sensor: context.request.query.sensor || "*",
}));

function latest() {
  return JSON.parse(sharedStorage.getItem("latest") || "{}");
}

register(
  "/readings",
  (context) => {
    let reading;
    try {
      reading = JSON.parse(context.request.body || "");
    } catch {
      return ResponseBuilder.error(400, 'send JSON such as {"sensor": "temperature", "value": 21.5}');
    }
    const { sensor, value } = reading;
    if (typeof sensor !== "string" || !/^[\w-]{1,40}$/.test(sensor) || typeof value !== "number") {
      return ResponseBuilder.error(422, "sensor must be a short name and value a number");
    }
    const entry = { sensor, value, at: new Date().toISOString() };
    const all = latest();
    all[sensor] = entry;
    sharedStorage.setItem("latest", JSON.stringify(all));
    const delivered = routeRegistry.sendStreamMessageFiltered("/live", entry, { sensor: [sensor, "*"] }, "subset");
    return ResponseBuilder.json({ delivered }, 202);
  },
  "POST",
);

register("/readings", () => ResponseBuilder.json(latest()));

const page = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Ferry live dashboard</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 2rem; }
  table { border-collapse: collapse; min-width: 24rem; }
  td, th { padding: .4rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }
  #state { color: #666; }
</style>
<h1>Live readings</h1>
<p id="state">connecting…</p>
<table><thead><tr><th>sensor</th><th>value</th><th>at</th></tr></thead><tbody id="rows"></tbody></table>
<script>
  const rows = document.getElementById("rows");
  const state = document.getElementById("state");
  const sensor = new URLSearchParams(location.search).get("sensor");
  function show(entry) {
    if (sensor && entry.sensor !== sensor) return;
    let row = document.getElementById("sensor-" + entry.sensor);
    if (!row) {
      row = rows.insertRow();
      row.id = "sensor-" + entry.sensor;
      for (let i = 0; i < 3; i++) row.insertCell();
    }
    row.cells[0].textContent = entry.sensor;
    row.cells[1].textContent = entry.value;
    row.cells[2].textContent = entry.at;
  }
  fetch("/readings").then((r) => r.json()).then((all) => Object.values(all).forEach(show));
  const events = new EventSource("/live" + location.search);
  events.onopen = () => (state.textContent = "live");
  events.onerror = () => (state.textContent = "reconnecting…");
  events.onmessage = (event) => show(JSON.parse(event.data));
</script>
</html>`;

register("/", () => ResponseBuilder.html(page));

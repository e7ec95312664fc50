// POSTs an oversized body N times with Node's fetch; prints one JSON line
// per attempt. NODE_TLS_REJECT_UNAUTHORIZED=0 is set by the test for the
// agent's self-signed certificate.
const [url, n, size] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const body = Buffer.alloc(size, 0x78);
for (let i = 0; i < n; i++) {
  try {
    const resp = await fetch(url, { method: "POST", body, headers: { "Content-Type": "application/json" } });
    console.log(JSON.stringify({ status: resp.status, body: await resp.text() }));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e) + " " + String(e.cause ?? "") }));
  }
}

// A step served over HTTP in JavaScript (Node, no dependencies): POST a
// step request, get a step response (docs/steps.md). It prints the port it
// listens on, then serves until killed.
"use strict";
const http = require("http");

const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const step = JSON.parse(body);
    let out;
    if (step.input && step.input.qty > 0) {
      out = { output: { reserved: step.input.qty, attempt: step.attempt }, state: { reserved: true } };
    } else {
      out = { error: { message: "qty must be positive", kind: "bad-quantity", terminal: true } };
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(out));
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));

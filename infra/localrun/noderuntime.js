// The Lambda runtime-interface client localrun runs Node functions with
// (what the nodejs20.x managed runtime does on AWS): load the handler
// FILE.EXPORT named by _HANDLER from LAMBDA_TASK_ROOT, then loop on the
// Runtime API at AWS_LAMBDA_RUNTIME_API: get the next invocation, call the
// handler, post its result or its error. Handlers may be async functions or
// take a callback.
"use strict";
const http = require("http");
const path = require("path");

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const [host, ...rest] = api.split("/");
const base = rest.length ? "/" + rest.join("/") : "";
const [hostname, port] = host.split(":");

function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: base + p, method, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorBody(err) {
  return JSON.stringify({ errorMessage: String((err && err.message) || err), errorType: (err && err.name) || "Error" });
}

async function loadHandler() {
  const handler = process.env._HANDLER || "index.handler";
  const dot = handler.lastIndexOf(".");
  const file = path.resolve(process.env.LAMBDA_TASK_ROOT || ".", handler.slice(0, dot));
  const mod = require(file);
  const fn = mod[handler.slice(dot + 1)];
  if (typeof fn !== "function") throw new Error(`handler ${handler}: ${file} exports no function ${handler.slice(dot + 1)}`);
  return fn;
}

function call(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => { if (!settled) { settled = true; err ? reject(err) : resolve(result); } };
    try {
      const r = fn(event, context, done);
      if (r && typeof r.then === "function") r.then((v) => done(null, v), done);
      else if (fn.length < 3) done(null, r);
    } catch (e) { done(e); }
  });
}

async function main() {
  let fn;
  try {
    fn = await loadHandler();
  } catch (err) {
    await request("POST", "/2018-06-01/runtime/init/error", errorBody(err), { "Content-Type": "application/json" });
    process.exit(1);
  }
  for (;;) {
    const next = await request("GET", "/2018-06-01/runtime/invocation/next");
    if (next.status !== 200) throw new Error(`runtime API next: ${next.status} ${next.body}`);
    const id = next.headers["lambda-runtime-aws-request-id"];
    const context = {
      awsRequestId: id,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
      getRemainingTimeInMillis: () => Number(next.headers["lambda-runtime-deadline-ms"] || 0) - Date.now(),
    };
    try {
      const result = await call(fn, JSON.parse(next.body), context);
      await request("POST", `/2018-06-01/runtime/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result), { "Content-Type": "application/json" });
    } catch (err) {
      await request("POST", `/2018-06-01/runtime/invocation/${id}/error`, errorBody(err), { "Content-Type": "application/json" });
    }
  }
}

main().catch((err) => { console.error(err); process.exit(1); });

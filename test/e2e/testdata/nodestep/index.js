// A step function in JavaScript speaking ordo's step protocol
// (docs/steps.md): a step request in, a step response out. With
// input.napMs it first waits that long (a long step, run asynchronously
// by the e2e test).
"use strict";

exports.handler = async (req) => {
  const napMs = req.input && req.input.napMs;
  if (napMs) {
    await new Promise((resolve) => setTimeout(resolve, napMs));
  }
  const name = req.input && req.input.name;
  if (!name) {
    return { error: { message: `run ${req.run}: no name to greet`, kind: "bad-input", terminal: true } };
  }
  return {
    output: { greeting: `hello, ${name}`, attempt: req.attempt, key: req.idempotencyKey },
    state: { greeted: name },
    effects: [{ kind: "log", target: "greetings", payload: { name } }],
  };
};

// slow sleeps input.sleepMs, then succeeds. It logs one "step invoked" line
// per invocation, as ordo's Go step Lambdas do (steplambda), so the tests
// count its invocations per attempt.
exports.slow = async (req) => {
  console.log(JSON.stringify({ msg: "step invoked", run: req.run, step: req.step, attempt: req.attempt,
    index: req.index || 0, compensation: !!req.compensation }));
  const ms = (req.input && req.input.sleepMs) || 0;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { output: { slept: ms, attempt: req.attempt } };
};

// A step function in JavaScript speaking ordo's step protocol
// (docs/steps.md): a step request in, a step response out.
"use strict";

exports.handler = async (req) => {
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

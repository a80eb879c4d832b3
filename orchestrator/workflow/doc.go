// Package workflow is ordo's definition model: a workflow is a DAG of steps
// held as plain data (JSON/YAML), built either with the Go DSL (New, Step,
// After, When, ...) or loaded from a file (Load). Conditions, keys and input
// mappings are CEL expressions over:
//
//	input    the run's input (JSON)
//	state    the run's state document (JSON, updated by steps' merge patches)
//	steps    steps.<name>.output for every finished step
//	attempt  the attempt number of the step being evaluated (from 1)
//
// Build and Load validate a definition and compile its expressions. They
// reject, naming the step (and the file line for YAML): duplicate or unknown
// steps, cycles, unreachable steps, CEL that does not compile, unknown step
// types, and task steps whose function is not registered.
//
// Every definition has a name and a version; Hash is the content hash of its
// canonical JSON, which runs pin when they start.
package workflow

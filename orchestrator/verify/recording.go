package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Format names the recording file format. Persisted: a change of layout
// gets a new name.
const Format = "ordo-recording/1"

// Recording is one run's journal, commit by commit, with the definition
// the run was pinned to and the volatile-field rules to verify it with.
type Recording struct {
	Format string      `json:"format"`
	Run    journal.Run `json:"run"`
	// Definition is the run's own definition (canonical JSON), when the
	// journal had it.
	Definition *StoredDefinition `json:"definition,omitempty"`
	Commits    []Commit          `json:"commits"`
	// Config is the verify configuration the run is checked with
	// (volatile fields, steps not re-executed).
	Config Config `json:"config,omitzero"`
}

// StoredDefinition is a definition as a recording carries it.
type StoredDefinition struct {
	Hash    string          `json:"hash"`
	Name    string          `json:"name"`
	Version string          `json:"version"`
	JSON    json.RawMessage `json:"json"`
}

// Commit is one append of the run's journal.
type Commit struct {
	Seq    int64           `json:"seq"`
	Events []journal.Event `json:"events"`
}

// Record reads run from store into a Recording. The definition is included
// when the store has it.
func Record(ctx context.Context, store journal.Store, run string) (*Recording, error) {
	head, events, err := store.Load(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", run, err)
	}
	rec := &Recording{Format: Format, Run: head}
	for _, e := range events {
		if n := len(rec.Commits); n == 0 || rec.Commits[n-1].Seq != e.Seq {
			rec.Commits = append(rec.Commits, Commit{Seq: e.Seq})
		}
		c := &rec.Commits[len(rec.Commits)-1]
		c.Events = append(c.Events, e)
	}
	d, err := store.Definition(ctx, head.DefHash)
	switch {
	case err == nil:
		rec.Definition = &StoredDefinition{Hash: d.Hash, Name: d.Name, Version: d.Version, JSON: d.JSON}
	case !errors.Is(err, journal.ErrNotFound):
		return nil, fmt.Errorf("record %s: definition %s: %w", run, head.DefHash, err)
	}
	if err := rec.Validate(); err != nil {
		return nil, err
	}
	return rec, nil
}

// ReadFile reads and validates a recording file.
func ReadFile(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rec, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

// Decode reads and validates a recording.
func Decode(r io.Reader) (*Recording, error) {
	dec := json.NewDecoder(r)
	var rec Recording
	if err := dec.Decode(&rec); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: not JSON at byte %d: %v", ErrCorrupt, se.Offset, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: truncated (the file ends inside the recording)", ErrCorrupt)
		}
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if rec.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrCorrupt, rec.Format, Format)
	}
	for i := range rec.Commits {
		for j := range rec.Commits[i].Events {
			rec.Commits[i].Events[j].Seq = rec.Commits[i].Seq
		}
	}
	if err := rec.Validate(); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Write encodes the recording, indented, for a testdata file. Sealed
// values (package sensitive) are written as "[redacted]": a recording
// leaves the deployment (into a repository, a ticket). Replaying it
// through Decide still holds, since Decide only copies them.
func (rec *Recording) Write(w io.Writer) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(sensitive.Redact(b), '\n'))
	return err
}

// Validate checks the recording's shape: a run id, commits numbered in
// increasing order, none empty, the first event RunStarted, a definition
// (if any) that is the run's. It fills the head's workflow and definition
// hash from RunStarted when they are missing.
func (rec *Recording) Validate() error {
	if rec.Run.ID == "" {
		return fmt.Errorf("%w: the recording names no run", ErrCorrupt)
	}
	if len(rec.Commits) == 0 {
		return fmt.Errorf("%w: run %s has no commits", ErrCorrupt, rec.Run.ID)
	}
	var last int64
	for _, c := range rec.Commits {
		if c.Seq <= last {
			return fmt.Errorf("%w: run %s: commit %d follows commit %d", ErrCorrupt, rec.Run.ID, c.Seq, last)
		}
		if len(c.Events) == 0 {
			return fmt.Errorf("%w: run %s: commit %d has no events", ErrCorrupt, rec.Run.ID, c.Seq)
		}
		last = c.Seq
	}
	first := rec.Commits[0].Events[0]
	if first.Kind != journal.RunStarted {
		return fmt.Errorf("%w: run %s begins with %s, want RunStarted (the start of the journal is missing)", ErrCorrupt, rec.Run.ID, first.Kind)
	}
	if rec.Run.Workflow == "" {
		rec.Run.Workflow = first.Workflow
	}
	if rec.Run.DefHash == "" {
		rec.Run.DefHash = first.DefHash
	}
	if rec.Definition != nil && rec.Definition.Hash != rec.Run.DefHash {
		return fmt.Errorf("%w: run %s is pinned to definition %s, the recording carries %s", ErrCorrupt,
			rec.Run.ID, rec.Run.DefHash, rec.Definition.Hash)
	}
	return nil
}

// Events returns the run's events in order, each with its commit's Seq.
func (rec *Recording) Events() []journal.Event {
	var out []journal.Event
	for _, c := range rec.Commits {
		for _, e := range c.Events {
			e.Seq = c.Seq
			out = append(out, e)
		}
	}
	return out
}

// Started is when the run started (its first event).
func (rec *Recording) Started() time.Time { return rec.Commits[0].Events[0].At }

// RecordedDefinition loads the run's own definition, or ErrNoDefinition.
func (rec *Recording) RecordedDefinition() (*workflow.Definition, error) {
	if rec.Definition == nil {
		return nil, fmt.Errorf("%w: run %s is pinned to definition %s, which the journal does not hold",
			ErrNoDefinition, rec.Run.ID, rec.Run.DefHash)
	}
	d, err := workflow.Load(rec.Definition.JSON, rec.Definition.Name+"@"+rec.Definition.Version)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s: definition %s: %w", ErrCorrupt, rec.Run.ID, rec.Definition.Hash, err)
	}
	return d, nil
}

// Open replaces the sealed values (package sensitive) of every event with
// their clear values, opened with s, so that Write keeps them and the steps
// that received them can be re-executed from the recording. Only for
// journals of test data (a demo's, a staging copy): a recording leaves the
// deployment, and an opened recording carries the values in clear.
func (rec *Recording) Open(ctx context.Context, s sensitive.Sealer) error {
	for i := range rec.Commits {
		for j := range rec.Commits[i].Events {
			e := &rec.Commits[i].Events[j]
			where := fmt.Sprintf("commit %d event %d (%s)", rec.Commits[i].Seq, j+1, e.Kind)
			docs := []*json.RawMessage{&e.Input, &e.Output, &e.State}
			for k := range e.Effects {
				docs = append(docs, &e.Effects[k].Payload)
			}
			for _, d := range docs {
				opened, _, err := sensitive.OpenAll(ctx, s, *d, where)
				if err != nil {
					return fmt.Errorf("run %s: %w", rec.Run.ID, err)
				}
				*d = opened
			}
		}
	}
	return nil
}

package journal

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// everyField returns an event with every field set (by reflection, so a
// field added to Event later is set too) to values that exercise escaping.
func everyField(t *testing.T) Event {
	t.Helper()
	var e Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case Kind:
			f.SetString(string(StepSucceeded))
		case string:
			f.SetString(v.Type().Field(i).Name + ` <&> "quoted" \ é ` + "\u2028\n\x01")
		case int, int64:
			f.SetInt(int64(i + 1))
		case bool:
			f.SetBool(true)
		case time.Time:
			f.Set(reflect.ValueOf(time.Date(2026, 12, 6, 2, 50, 1, 123400000, time.FixedZone("X", 3600))))
		case json.RawMessage:
			f.Set(reflect.ValueOf(json.RawMessage(` { "a" : [1, 2.5e3, "x <y>"], "b": null } `)))
		case []Effect:
			f.Set(reflect.ValueOf([]Effect{{ID: "e1", Kind: "email", Target: "t", Payload: json.RawMessage(`{"k":"v"}`)}, {ID: "e2", Kind: "k"}}))
		case *Error:
			f.Set(reflect.ValueOf(&Error{Message: "boom <x>", Kind: "timeout", Terminal: true}))
		default:
			t.Fatalf("Event.%s has type %s, which this test (and appendEvent) does not know", v.Type().Field(i).Name, f.Type())
		}
	}
	return e
}

// TestEncodeMatchesMarshal: EncodeEvents writes what json.Marshal writes,
// for every field of Event, set or not.
func TestEncodeMatchesMarshal(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string][]Event{
		"nil":         nil,
		"empty":       {},
		"zero event":  {{}},
		"every field": {everyField(t)},
		"typical": {
			{Kind: StepSucceeded, At: t0, Step: "s1", Attempt: 1, Output: json.RawMessage(`{"orderId":"ord_1","amount":4200}`)},
			{Kind: StepScheduled, At: t0.Add(time.Nanosecond), Step: "s2", Attempt: 1, Input: json.RawMessage(`{"a":1}`), Due: t0.Add(time.Minute)},
		},
		"local time":    {{Kind: RunStarted, At: time.Date(2025, 3, 1, 12, 0, 0, 5, time.Local)}},
		"empty effects": {{Kind: StepSucceeded, At: t0, Effects: []Effect{}}},
	}
	for name, events := range cases {
		want, werr := json.Marshal(events)
		got, gerr := EncodeEvents(events)
		if werr != nil || gerr != nil || !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s (%v)\nwant %s (%v)", name, got, gerr, want, werr)
		}
	}
	for _, bad := range []Event{{Output: json.RawMessage(`{`)}, {At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if _, err := EncodeEvents([]Event{bad}); err == nil {
			t.Errorf("EncodeEvents(%+v) did not fail as json.Marshal does", bad)
		}
	}
}

// FuzzEncodeEvents compares EncodeEvents with json.Marshal on events built
// from the fuzzer's strings, raw bytes, numbers and times.
func FuzzEncodeEvents(f *testing.F) {
	f.Add("s1", "reason <x>", []byte(`{"a": 1}`), 3, int64(1740830400123456789), true)
	f.Add("", "\u2028", []byte(`nope`), 0, int64(0), false)
	f.Add("é\x00", `"\`, []byte("\"\xe2\x80\xa9\""), -7, int64(-62135596800000000), true)
	f.Fuzz(func(t *testing.T, s, r string, raw []byte, n int, nanos int64, b bool) {
		at := time.Unix(0, nanos).UTC()
		events := []Event{{Kind: Kind(s), At: at, Step: s, Attempt: n, Output: raw, Reason: r, Compensation: b,
			Effects: []Effect{{ID: r, Kind: s, Payload: raw}}, Error: &Error{Message: r, Kind: s, Terminal: b}, Due: at.Add(time.Duration(n))}}
		if b {
			events[0].At = at.In(time.FixedZone("z", n%86400))
		}
		want, werr := json.Marshal(events)
		got, gerr := EncodeEvents(events)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("EncodeEvents:\n got %s (%v)\nwant %s (%v)", got, gerr, want, werr)
		}
	})
}

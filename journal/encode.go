package journal

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/ordoflow/ordo/internal/canonjson"
)

// appendEvents appends the JSON of events to buf exactly as json.Marshal
// writes it (field order, omitempty, HTML escaping, compacted raw values),
// without reflection. Values whose canonical form it cannot write directly
// (strings that need escaping, raw JSON not already compact, unusual
// times) go through encoding/json, so the bytes never differ;
// TestEncodeMatchesMarshal and FuzzEncodeEvents hold it to that.
func appendEvents(buf []byte, events []Event) ([]byte, error) {
	if events == nil {
		return append(buf, "null"...), nil
	}
	buf = append(buf, '[')
	for i := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendEvent(buf, &events[i]); err != nil {
			return nil, err
		}
	}
	return append(buf, ']'), nil
}

func appendEvent(buf []byte, e *Event) ([]byte, error) {
	var err error
	buf = append(buf, `{"kind":`...)
	buf = appendString(buf, string(e.Kind))
	buf = append(buf, `,"at":`...)
	if buf, err = appendTime(buf, e.At); err != nil {
		return nil, err
	}
	buf = appendStringField(buf, `,"step":`, e.Step)
	buf = appendIntField(buf, `,"attempt":`, e.Attempt)
	buf = appendStringField(buf, `,"workflow":`, e.Workflow)
	buf = appendStringField(buf, `,"defHash":`, e.DefHash)
	buf = appendStringField(buf, `,"key":`, e.Key)
	buf = appendStringField(buf, `,"trigger":`, e.Trigger)
	for _, f := range [...]struct {
		name string
		raw  json.RawMessage
	}{{`,"input":`, e.Input}, {`,"output":`, e.Output}, {`,"state":`, e.State}} {
		if len(f.raw) > 0 {
			buf = append(buf, f.name...)
			if buf, err = appendRaw(buf, f.raw); err != nil {
				return nil, err
			}
		}
	}
	if len(e.Effects) > 0 {
		buf = append(buf, `,"effects":[`...)
		for i := range e.Effects {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = appendEffect(buf, &e.Effects[i]); err != nil {
				return nil, err
			}
		}
		buf = append(buf, ']')
	}
	if e.Error != nil {
		buf = append(buf, `,"error":{"message":`...)
		buf = appendString(buf, e.Error.Message)
		buf = appendStringField(buf, `,"kind":`, e.Error.Kind)
		if e.Error.Terminal {
			buf = append(buf, `,"terminal":true`...)
		}
		buf = append(buf, '}')
	}
	if !e.Due.IsZero() {
		buf = append(buf, `,"due":`...)
		if buf, err = appendTime(buf, e.Due); err != nil {
			return nil, err
		}
	}
	buf = appendStringField(buf, `,"reason":`, e.Reason)
	buf = appendStringField(buf, `,"by":`, e.By)
	buf = appendStringField(buf, `,"effectId":`, e.EffectID)
	buf = appendIntField(buf, `,"index":`, e.Index)
	buf = appendStringField(buf, `,"name":`, e.Name)
	buf = appendStringField(buf, `,"parent":`, e.Parent)
	buf = appendStringField(buf, `,"child":`, e.Child)
	if e.Compensation {
		buf = append(buf, `,"compensation":true`...)
	}
	return append(buf, '}'), nil
}

func appendEffect(buf []byte, ef *Effect) ([]byte, error) {
	buf = append(buf, `{"id":`...)
	buf = appendString(buf, ef.ID)
	buf = append(buf, `,"kind":`...)
	buf = appendString(buf, ef.Kind)
	buf = appendStringField(buf, `,"target":`, ef.Target)
	if len(ef.Payload) > 0 {
		var err error
		buf = append(buf, `,"payload":`...)
		if buf, err = appendRaw(buf, ef.Payload); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// appendStringField appends name and s unless s is empty (omitempty).
func appendStringField(buf []byte, name, s string) []byte {
	if s == "" {
		return buf
	}
	return appendString(append(buf, name...), s)
}

// appendIntField appends name and n unless n is 0 (omitempty).
func appendIntField(buf []byte, name string, n int) []byte {
	if n == 0 {
		return buf
	}
	return strconv.AppendInt(append(buf, name...), int64(n), 10)
}

// appendString appends s quoted. Printable ASCII other than ", \, <, > and
// & is copied; anything else is left to encoding/json's escaping.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendTime appends t as time.Time.MarshalJSON does; UTC times of years
// 0-9999 are formatted here, others by MarshalJSON (which rejects some).
func appendTime(buf []byte, t time.Time) ([]byte, error) {
	if t.Location() == time.UTC && t.Year() >= 0 && t.Year() <= 9999 {
		buf = append(buf, '"')
		buf = t.AppendFormat(buf, time.RFC3339Nano)
		return append(buf, '"'), nil
	}
	b, err := t.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// appendRaw appends raw JSON as json.Marshal does (compacted, <, > and &
// escaped, invalid JSON an error): copied when already in that form.
func appendRaw(buf []byte, raw json.RawMessage) ([]byte, error) {
	if canonjson.Is(raw) {
		return append(buf, raw...), nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

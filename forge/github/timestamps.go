package github

import (
	"encoding/json"
	"strings"
	"time"
)

// dropOddTimestamps removes the "*_at" fields whose string value is not RFC 3339, which
// go-github's Timestamp refuses. It returns the payload unchanged when it is no JSON object.
func dropOddTimestamps(payload []byte) ([]byte, bool) {
	var doc any
	if err := json.Unmarshal(payload, &doc); err != nil {
		return payload, false
	}
	changed := false
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && strings.HasSuffix(k, "_at") {
					if _, err := time.Parse(time.RFC3339, s); err != nil {
						delete(v, k)
						changed = true
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if !changed {
		return payload, false
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return payload, false
	}
	return out, true
}

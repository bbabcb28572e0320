package docker

import (
	"reflect"
	"testing"
)

func TestMissingTail(t *testing.T) {
	cases := map[string]struct {
		got, engine, want []string
		matched           bool
	}{
		"complete":         {got: []string{"a", "b", "c"}, engine: []string{"a", "b", "c"}, want: []string{}, matched: true},
		"lost the end":     {got: []string{"x", "a", "b"}, engine: []string{"a", "b", "c", "d"}, want: []string{"c", "d"}, matched: true},
		"repeated lines":   {got: []string{"f", "f", "f", "f"}, engine: []string{"f", "f", "f", "done"}, want: []string{"done"}, matched: true},
		"no overlap":       {got: []string{"x", "y"}, engine: []string{"c", "d"}, want: []string{"c", "d"}, matched: false},
		"nothing streamed": {got: nil, engine: []string{"c"}, want: []string{"c"}, matched: false},
		"engine empty":     {got: []string{"a"}, engine: nil, want: nil, matched: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, matched := missingTail(tc.got, tc.engine)
			if len(got) == 0 && len(tc.want) == 0 {
				got, tc.want = nil, nil
			}
			if !reflect.DeepEqual(got, tc.want) || matched != tc.matched {
				t.Fatalf("missingTail = %q, %v; want %q, %v", got, matched, tc.want, tc.matched)
			}
		})
	}
}

package forgetest

import (
	"reflect"
	"testing"
)

func TestWatchSeesCallsFromThenOn(t *testing.T) {
	var r recorder
	r.add(Call{Method: "GET", Path: "/before"})
	var first, second []string
	r.Watch(func(c Call) { first = append(first, c.String()) })
	r.add(Call{Method: "POST", Path: "/one"})
	r.Watch(func(c Call) { second = append(second, c.String()) })
	r.add(Call{Method: "PATCH", Path: "/two"})
	if want := []string{"POST /one", "PATCH /two"}; !reflect.DeepEqual(first, want) {
		t.Errorf("first watcher saw %v, want %v", first, want)
	}
	if want := []string{"PATCH /two"}; !reflect.DeepEqual(second, want) {
		t.Errorf("second watcher saw %v, want %v", second, want)
	}
	if got := r.Sequence(); len(got) != 3 {
		t.Errorf("recorded %v", got)
	}
}

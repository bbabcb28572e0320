package datadir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func builtFiles(t *testing.T, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestKeepArtifactsHoldsOneRun: a second run under the same key replaces the first's files, so a
// reuse publishes what one run made and nothing an earlier one left.
func TestKeepArtifactsHoldsOneRun(t *testing.T) {
	d := Dir(t.TempDir())
	const key = "0123abcd"
	if _, err := d.KeepArtifacts(key, builtFiles(t, "a_1_x86_64.ipk", "b_1_x86_64.ipk")); err != nil {
		t.Fatal(err)
	}
	kept, err := d.KeepArtifacts(key, builtFiles(t, "a_2_x86_64.ipk"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := d.ArtifactFiles(key)
	dir, _ := d.Artifacts(key)
	want := []string{filepath.Join(dir, "a_2_x86_64.ipk")}
	if err != nil || !slices.Equal(files, want) || !slices.Equal(kept, want) {
		t.Fatalf("kept %q, folder holds %q (%v); want only the second run's %q", kept, files, err, want)
	}
	if ents, _ := os.ReadDir(d.ArtifactsRoot()); len(ents) != 1 {
		t.Fatalf("artifacts root holds %d entries, want the key's folder alone", len(ents))
	}
}

// TestKeepArtifactsWithoutKey: a result that may not be reused is kept for nobody.
func TestKeepArtifactsWithoutKey(t *testing.T) {
	d := Dir(t.TempDir())
	files := builtFiles(t, "a_1_x86_64.ipk")
	kept, err := d.KeepArtifacts("", files)
	if err != nil || !slices.Equal(kept, files) {
		t.Fatalf("kept %q %v, want the files where they are", kept, err)
	}
	if _, err := os.Stat(d.ArtifactsRoot()); !os.IsNotExist(err) {
		t.Fatalf("an artifacts folder was made without a key (%v)", err)
	}
}

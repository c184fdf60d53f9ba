package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPutGetList(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "state"), true)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := d.Get("absent"); r != nil || err != nil {
		t.Fatalf("absent record: %v %v", r, err)
	}
	r := &Record{Name: "opensnoop", HighWater: 3, Loaded: &Load{Version: 3, PinDir: "/sys/fs/bpf/bpfload/opensnoop",
		Created: []string{"/sys/fs/bpf/bpfload/opensnoop"}, LoadedAt: time.Unix(1, 0).UTC()}}
	if err := d.Put(r); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get("opensnoop")
	if err != nil || got.HighWater != 3 || got.Loaded.PinDir != r.Loaded.PinDir {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if err := d.Put(&Record{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	all, err := d.List()
	if err != nil || len(all) != 2 || all[0].Name != "b" {
		t.Fatalf("List = %v, %v", all, err)
	}
	ents, _ := os.ReadDir(d.Path)
	for _, e := range ents {
		if filepath.Ext(e.Name()) != ".json" {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestCorruptIsAnError(t *testing.T) {
	d, err := Open(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"torn": `{"name": "torn", "high_wa`, "other": `{"name": "someone-else"}`, "extra": `{"name": "extra", "surprise": 1}`} {
		if err := os.WriteFile(filepath.Join(d.Path, name+".json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Get(name); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := d.List(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("List over a corrupt file: %v", err)
	}
}

func TestUnsafeDirRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, false); !errors.Is(err, ErrUnsafe) {
		t.Errorf("world-writable state dir: %v", err)
	}
}

func TestCheckWritable(t *testing.T) {
	d, err := Open(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CheckWritable(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d.Path, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(d.Path, 0o755)
	if os.Geteuid() == 0 {
		// Root's DAC override writes anyway; a capability-less user may not.
		return
	}
	if err := d.CheckWritable(); err == nil {
		t.Error("read-only dir reported writable")
	}
}

func TestUnsafeFileRefused(t *testing.T) {
	d, err := Open(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(&Record{Name: "x", HighWater: 7}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d.file("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get("x"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("group/world-writable state file: %v", err)
	}
}

package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// readBeneath opens rel beneath dir with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS), so neither "..", an absolute path nor a symlink
// can lead the read elsewhere, and reads it once.
func readBeneath(dir, rel string, limit int64) ([]byte, error) {
	name := filepath.Join(dir, rel)
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat2(dfd, rel, &unix.OpenHow{
		// O_NONBLOCK: opening a FIFO must not wait for a writer.
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("%w: %s is or passes through a symlink; bpfload reads only regular files inside the manifest's directory", ErrObjectPath, name)
	case errors.Is(err, unix.EXDEV):
		return nil, fmt.Errorf("%w: %s resolves outside the manifest's directory", ErrObjectPath, name)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return readAllLimited(f, name, limit)
}

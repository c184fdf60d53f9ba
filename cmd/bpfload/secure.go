package main

import (
	"encoding/binary"
	"os"
	"sync"
)

// atSecure is AT_SECURE from linux/auxvec.h.
const atSecure = 23

// privileged reports whether the kernel marked this execution secure:
// bpfload was started by a user it gives more privilege than they had, as
// file capabilities (make install) do for any user. Then nothing the
// caller chooses may stand in for the trust policy: --allow-unsigned is
// refused, the policy file must belong to root all the way up, and
// dry-runs try only what the policy allows.
var privileged = sync.OnceValue(func() bool {
	auxv, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return true // unknown: assume the stricter case
	}
	for i := 0; i+16 <= len(auxv); i += 16 {
		key, val := binary.NativeEndian.Uint64(auxv[i:]), binary.NativeEndian.Uint64(auxv[i+8:])
		if key == atSecure {
			return val != 0
		}
	}
	return false
})

package caps

import (
	"fmt"
	"strings"
)

// GrantHints says how to give a process the capabilities in s, in each
// place it may run: file capabilities on binary, docker, Kubernetes and
// systemd. The lines are meant to be copied.
func GrantHints(s Set, binary string) []string {
	var short []string
	for _, n := range s.Names() {
		short = append(short, strings.TrimPrefix(n, "CAP_"))
	}
	names := strings.Join(s.Names(), " ")
	return []string{
		fmt.Sprintf("file capabilities (permitted only, never setuid): sudo setcap %s+p %s", s.Lower(), binary),
		fmt.Sprintf("docker: docker run --cap-drop ALL --cap-add %s ...", strings.Join(short, " --cap-add ")),
		fmt.Sprintf("Kubernetes: securityContext: {capabilities: {drop: [ALL], add: [%s]}}", strings.Join(short, ", ")),
		fmt.Sprintf("systemd: AmbientCapabilities=%s and CapabilityBoundingSet=%s", names, names),
	}
}

// Package diag gives every bpfload failure a stable code, an exit status
// group, and a message that says what failed, where, and how to fix it. It
// also explains the kernel's refusals: an EPERM from a map create, program
// load or attach becomes the capability Linux checks there, looked up in
// the rules table, and whether the manifest granted it.
package diag

// Class groups failures; each class has its own exit status.
type Class int

// Exit statuses, one per class.
const (
	ClassInternal   Class = 1
	ClassUsage      Class = 2
	ClassManifest   Class = 3 // manifest, object, signature, policy
	ClassPermission Class = 4
	ClassVerifier   Class = 5 // program load and map create
	ClassAttach     Class = 6
	ClassState      Class = 7 // already loaded, lock, pins, state directory
)

func (c Class) String() string {
	switch c {
	case ClassUsage:
		return "usage"
	case ClassManifest:
		return "manifest"
	case ClassPermission:
		return "permission"
	case ClassVerifier:
		return "verifier"
	case ClassAttach:
		return "attach"
	case ClassState:
		return "state"
	}
	return "internal"
}

// Code is a stable failure code such as BPFLOAD-E031. Codes are never
// reused; README.md has a troubleshooting entry for each.
type Code struct {
	ID    string
	Class Class
	Title string
}

// The failure codes.
var (
	EUsage           = Code{"BPFLOAD-E001", ClassUsage, "bad command line"}
	EManifestRead    = Code{"BPFLOAD-E010", ClassManifest, "manifest cannot be read"}
	EManifestSyntax  = Code{"BPFLOAD-E011", ClassManifest, "manifest does not decode"}
	EManifestInvalid = Code{"BPFLOAD-E012", ClassManifest, "manifest field has a bad value"}
	EObjectRead      = Code{"BPFLOAD-E013", ClassManifest, "object cannot be read"}
	EDigest          = Code{"BPFLOAD-E014", ClassManifest, "object digest does not match the manifest"}
	EBadObject       = Code{"BPFLOAD-E015", ClassManifest, "object is not a usable eBPF ELF file"}
	ENotInObject     = Code{"BPFLOAD-E016", ClassManifest, "program or map not in the object"}
	EAttachMismatch  = Code{"BPFLOAD-E017", ClassManifest, "attach kind does not fit the program type"}
	EAttachTarget    = Code{"BPFLOAD-E018", ClassManifest, "attach target is invalid or missing"}
	EUnsigned        = Code{"BPFLOAD-E019", ClassManifest, "manifest is not signed"}
	EBadSignature    = Code{"BPFLOAD-E020", ClassManifest, "a signature is malformed or does not verify"}
	EUntrusted       = Code{"BPFLOAD-E021", ClassManifest, "a signature comes from a key the trust policy does not trust"}
	EThreshold       = Code{"BPFLOAD-E022", ClassManifest, "not enough signatures from distinct signers"}
	ENoRule          = Code{"BPFLOAD-E023", ClassManifest, "no trust policy rule matches the manifest"}
	EOutsideRule     = Code{"BPFLOAD-E024", ClassManifest, "the manifest asks for more than its rule allows"}
	EStale           = Code{"BPFLOAD-E025", ClassManifest, "the manifest is expired, too old, or a rollback"}
	EPolicy          = Code{"BPFLOAD-E026", ClassManifest, "the trust policy cannot be used"}
	ENotPermitted    = Code{"BPFLOAD-E030", ClassPermission, "bpfload may not raise a capability the manifest lists"}
	EMissingCap      = Code{"BPFLOAD-E031", ClassPermission, "the kernel checks a capability the manifest does not grant"}
	ERefused         = Code{"BPFLOAD-E032", ClassPermission, "the kernel refused for a reason no capability in the manifest fixes"}
	ETracefs         = Code{"BPFLOAD-E033", ClassPermission, "tracefs is not readable"}
	EPinDenied       = Code{"BPFLOAD-E034", ClassPermission, "pin directory is not writable"}
	EPrivileged      = Code{"BPFLOAD-E035", ClassPermission, "refused while bpfload holds privileges its caller lacks"}
	EVerifier        = Code{"BPFLOAD-E040", ClassVerifier, "the verifier rejected a program"}
	EMapCreate       = Code{"BPFLOAD-E041", ClassVerifier, "a map cannot be created"}
	EAttach          = Code{"BPFLOAD-E050", ClassAttach, "attaching a program failed"}
	EAlreadyLoaded   = Code{"BPFLOAD-E060", ClassState, "already loaded"}
	ELocked          = Code{"BPFLOAD-E061", ClassState, "another bpfload holds the pin root lock"}
	ENotLoaded       = Code{"BPFLOAD-E062", ClassState, "not loaded"}
	EForeignPath     = Code{"BPFLOAD-E063", ClassState, "path not created by bpfload"}
	EState           = Code{"BPFLOAD-E064", ClassState, "state directory problem"}
	ENotBPFFS        = Code{"BPFLOAD-E065", ClassState, "pin path is not a bpffs directory reached without symlinks"}
	ECapsLeft        = Code{"BPFLOAD-E090", ClassInternal, "a thread still holds a capability after the drop"}
	EInternal        = Code{"BPFLOAD-E099", ClassInternal, "internal error"}
)

// All lists every code, for documentation tests.
func All() []Code {
	return []Code{EUsage, EManifestRead, EManifestSyntax, EManifestInvalid, EObjectRead, EDigest,
		EBadObject, ENotInObject, EAttachMismatch, EAttachTarget, EUnsigned, EBadSignature, EUntrusted,
		EThreshold, ENoRule, EOutsideRule, EStale, EPolicy, ENotPermitted,
		EMissingCap, ERefused, ETracefs, EPinDenied, EPrivileged, EVerifier, EMapCreate, EAttach,
		EAlreadyLoaded, ELocked, ENotLoaded, EForeignPath, EState, ENotBPFFS, ECapsLeft, EInternal}
}

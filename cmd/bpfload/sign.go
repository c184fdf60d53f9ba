package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/loader"
	"github.com/bpfload/bpfload/policy"
	"github.com/urfave/cli/v2"
)

func signCommand(out *outputMode) *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a manifest with an OpenSSH key (SSHSIG, namespace bpfload)",
		ArgsUsage: "MANIFEST",
		Description: `Writes MANIFEST.sig, an SSHSIG signature over the manifest's exact bytes
that ssh-keygen -Y verify -n bpfload accepts. If KEY-cert.pub lies beside
the key, the certificate is embedded, for trust policies that trust an SSH
CA (sshCA). An encrypted key's passphrase is read from
BPFLOAD_KEY_PASSPHRASE. For thresholds, each further signer writes
MANIFEST.2.sig, MANIFEST.3.sig, ... with --out.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Required: true, Usage: "OpenSSH private key `FILE`"},
			&cli.StringFlag{Name: "out", Usage: "signature `FILE` (default MANIFEST.sig)"},
			&cli.BoolFlag{Name: "force", Usage: "overwrite an existing signature file"},
		},
		Action: func(c *cli.Context) error {
			if err := setup(c, out, 1, "MANIFEST"); err != nil {
				return err
			}
			path := c.Args().First()
			m, err := policy.ReadManifest(path)
			if err != nil {
				return manifestError(err)
			}
			sig, err := policy.SignSSH(c.String("key"), m.Raw)
			if err != nil {
				return diag.Wrap(diag.EUsage, err).At(c.String("key"))
			}
			dst := c.String("out")
			if dst == "" {
				dst = path + ".sig"
			}
			if err := writeFile(dst, sig, c.Bool("force")); err != nil {
				return err.With("pass --force to overwrite it, or --out " + path + ".2.sig for a further signer")
			}
			if out.format == "json" {
				return writeJSON(c.App.Writer, map[string]string{"manifest": path, "signature": dst, "namespace": policy.SSHNamespace})
			}
			fmt.Fprintf(c.App.Writer, "signed %s: wrote %s (SSHSIG, namespace %s)\n", path, dst, policy.SSHNamespace)
			return nil
		},
	}
}

func verifyCommand(out *outputMode) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a manifest's signatures and trust policy, with no privilege and without loading",
		ArgsUsage: "MANIFEST",
		Description: `Checks everything load checks before it raises a capability: the
object's digest, every signature, the matching rule's signers, threshold,
capability ceiling, program types, attach targets and pin root, and that
the manifest is neither expired nor a rollback of what this host loaded.`,
		Flags: signatureFlags(),
		Action: func(c *cli.Context) error {
			if err := setup(c, out, 1, "MANIFEST"); err != nil {
				return err
			}
			res, err := runVerify(c.Args().First(), c.String("state-dir"), c.String("pin-root"), trustOptions{
				policyFile: c.String("policy"), signatures: c.StringSlice("signature"), signatureDir: c.String("signature-dir")})
			if err != nil {
				return err
			}
			if out.format == "json" {
				return writeJSON(c.App.Writer, res)
			}
			fmt.Fprintf(c.App.Writer, "verified %s version %d: %s\n", res.Manifest, res.Version, res.Rule)
			for _, s := range res.Signatures {
				counted := "counts toward the threshold"
				if !s.Counted {
					counted = "valid, but the rule does not list this signer"
				}
				fmt.Fprintf(c.App.Writer, "  %s: %s signature by %s (%s): %s\n", s.File, s.Format, s.Signer, s.Fingerprint, counted)
			}
			fmt.Fprintf(c.App.Writer, "  capabilities: %s; pin directory: %s\n", list(res.Capabilities), res.PinDir)
			return nil
		},
	}
}

type verifyResult struct {
	Verified     bool                       `json:"verified"`
	Manifest     string                     `json:"manifest"`
	Name         string                     `json:"name"`
	Version      int64                      `json:"version"`
	Rule         string                     `json:"rule"`
	Signatures   []policy.VerifiedSignature `json:"signatures"`
	Capabilities []string                   `json:"capabilities"`
	PinDir       string                     `json:"pin_dir"`
}

func runVerify(path, stateDir, pinRoot string, o trustOptions) (*verifyResult, error) {
	m, obj, err := readManifest(path)
	if err != nil {
		return nil, err
	}
	o.highWater, err = highWater(stateDir, m.Name)
	if err != nil {
		return nil, err
	}
	tp, v, err := verifyTrust(m, o)
	if err != nil {
		return nil, err
	}
	plan, err := loader.Prepare(m.Request(obj))
	if err != nil {
		return nil, prepareError(m, err)
	}
	pinDir := m.PinDir(pinRoot)
	if err := tp.CheckPlan(m, v, programTypes(plan), pinDir, pinRoot); err != nil {
		return nil, trustError(m, err)
	}
	return &verifyResult{Verified: true, Manifest: m.Path, Name: m.Name, Version: m.Version, Rule: v.Describe(),
		Signatures: v.Signatures, Capabilities: m.Caps.Names(), PinDir: pinDir}, nil
}

// writeFile writes a new file; an existing one only with overwrite.
func writeFile(path string, data []byte, overwrite bool) *diag.Error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return diag.New(diag.EUsage, "%s exists", path)
	}
	if err != nil {
		return diag.Wrap(diag.EUsage, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return diag.Wrap(diag.EInternal, err)
	}
	if err := f.Close(); err != nil {
		return diag.Wrap(diag.EInternal, err)
	}
	return nil
}

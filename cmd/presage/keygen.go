package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/presage-dev/presage/models/signing"
)

func runKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("keygen", "-dir DIR [-if-missing]", stderr)
	dir := fl.String("dir", "keys", "folder for presage.key (private, mode 0600) and presage.pub")
	ifMissing := fl.Bool("if-missing", false, "keep an existing key pair instead of failing")
	if err := parse(fl, args); err != nil {
		return err
	}
	priv, pub := filepath.Join(*dir, "presage.key"), filepath.Join(*dir, "presage.pub")
	if _, err := os.Stat(priv); err == nil {
		if *ifMissing {
			return nil
		}
		return usagef("%s exists: refusing to overwrite a signing key", priv)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	key, err := signing.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(priv, signing.MarshalPrivate(key), 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(pub, signing.MarshalPublic(key.Public().(ed25519.PublicKey)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s (key id %x)\n", priv, pub, signing.KeyID(key.Public().(ed25519.PublicKey)))
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so that a crash never leaves a
// half-written key, bundle or module behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

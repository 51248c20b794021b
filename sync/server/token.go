package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/presage-dev/presage/sync/store"
)

// AdminTokenSetting is the store setting that holds the hex SHA-256 of the admin token. The
// token itself is never stored.
const AdminTokenSetting = "admin_token_sha256"

// MinAdminToken is the shortest admin token accepted from the environment: the token is the only
// thing between the internet and the campaign and bundle API.
const MinAdminToken = 16

// InitAdminToken settles the admin token and returns its hash for Config.AdminTokenHash.
//
//   - token set (from PRESAGE_ADMIN_TOKEN): its hash replaces whatever was stored;
//   - else, a token stored before: it stays, and generated is "";
//   - else a new random token is generated, its hash stored, and generated returns it: the caller
//     shows it once, as it cannot be recovered. Nodes starting together on one database agree on
//     one token, and only the node that generated it shows it.
func InitAdminToken(ctx context.Context, st store.Store, token string) (hash []byte, generated string, err error) {
	if token != "" {
		if len(token) < MinAdminToken {
			return nil, "", fmt.Errorf("server: admin token has %d characters, want at least %d (a long random string)", len(token), MinAdminToken)
		}
		hash = hashToken(token)
		if err := st.SetSetting(ctx, AdminTokenSetting, hex.EncodeToString(hash)); err != nil {
			return nil, "", fmt.Errorf("server: store admin token: %w", err)
		}
		return hash, "", nil
	}
	var raw [32]byte
	rand.Read(raw[:])
	candidate := "psg_" + base64.RawURLEncoding.EncodeToString(raw[:])
	stored, created, err := st.InitSetting(ctx, AdminTokenSetting, hex.EncodeToString(hashToken(candidate)))
	if err != nil {
		return nil, "", fmt.Errorf("server: admin token: %w", err)
	}
	hash, err = hex.DecodeString(stored)
	if err != nil || len(hash) != 32 {
		return nil, "", errors.New("server: the stored admin token hash is corrupt: set PRESAGE_ADMIN_TOKEN to replace it")
	}
	if created {
		return hash, candidate, nil
	}
	return hash, "", nil
}

// requireAdmin lets a request through only with the admin bearer token. The comparison is of
// hashes in constant time, so that neither the token nor its length leaks through timing.
func (s *Server) requireAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || subtle.ConstantTimeCompare(hashToken(strings.TrimSpace(token)), s.cfg.AdminTokenHash) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="presage admin"`)
			writeError(w, http.StatusUnauthorized, "admin API: missing or wrong bearer token (Authorization: Bearer <token>)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

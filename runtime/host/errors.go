package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/tetratelabs/wazero/sys"
)

// Errors of the host itself. An error reply of the module is not one of these: it is returned as a
// *wire.Error, and errors.Is(err, &wire.Error{Code: c}) tests its code.
var (
	// ErrTrap is returned when an instance failed: a WebAssembly trap, a fatal error of the Go runtime
	// inside the module (out of memory above the configured ceiling, for one), or a reply that breaks
	// the ABI. The instance has been discarded; the next Acquire gets a healthy one. The error also
	// wraps wazero's error (a *sys.ExitError when the module exited).
	ErrTrap = errors.New("host: module trapped")

	// ErrDeadline is returned when a call overran its deadline (the call timeout, or the deadline of
	// the context given to Acquire). The instance was interrupted and discarded. It wraps
	// context.DeadlineExceeded.
	ErrDeadline = fmt.Errorf("host: deadline exceeded: %w", context.DeadlineExceeded)

	// ErrClosed is returned by every method once Close has been called.
	ErrClosed = errors.New("host: closed")

	// ErrReleased is returned by a Session's methods after Release.
	ErrReleased = errors.New("host: session released")
)

// bundleError is a refused bundle: it matches both its wire code (errors.Is with &wire.Error{Code})
// and the error that caused it (signing.ErrBadSignature, models.ErrStaleBundle…).
type bundleError struct {
	code  *wire.Error
	cause error
}

func (e *bundleError) Error() string   { return "host: load bundle: " + e.cause.Error() }
func (e *bundleError) Unwrap() []error { return []error{e.code, e.cause} }

// refuse builds the error of a bundle refused with code because of cause.
func refuse(code wire.Code, cause error) error {
	return &bundleError{code: &wire.Error{Code: code, Message: cause.Error()}, cause: cause}
}

// callError classifies a failed call into the module. The instance it ran on is unusable whatever the
// cause, and the caller discards it.
func callError(ctx context.Context, h *Host, op wire.Op, err error) error {
	if h.isClosed() {
		return fmt.Errorf("%w: %s interrupted: %w", ErrClosed, opName(op), err)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w: %s", ErrDeadline, opName(op))
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("host: %s: %w", opName(op), context.Canceled)
		}
	}
	if cerr := ctx.Err(); errors.Is(cerr, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %w", ErrDeadline, opName(op), err)
	}
	return fmt.Errorf("%w: %s: %w", ErrTrap, opName(op), err)
}

// ctxError maps a context that ended before a call could start.
func ctxError(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s", ErrDeadline, what)
	}
	return fmt.Errorf("host: %s: %w", what, err)
}

var opNames = [...]string{"op 0", "info", "load bundle", "load profile", "save profile", "handle", "drain", "explain", "forget", "op 9", "score"}

func opName(op wire.Op) string {
	if int(op) < len(opNames) {
		return opNames[op]
	}
	return fmt.Sprintf("op %d", uint32(op))
}

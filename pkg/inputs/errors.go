package inputs

import (
	"errors"
	"fmt"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/render"
)

// BadInputError is an error of what the user gave: a parameters file that
// does not validate, a flag, a file that cannot be read. Nothing was done.
// Every other error (a chart that does not render, a kustomize build that
// fails, a cluster that answers with an error) is a failure of the work.
type BadInputError struct{ Err error }

func (e *BadInputError) Error() string { return e.Err.Error() }

// Unwrap returns the error that the input caused.
func (e *BadInputError) Unwrap() error { return e.Err }

// BadInput marks err as the user's input being wrong.
func BadInput(err error) error { return &BadInputError{Err: err} }

// BadInputf is BadInput of a formatted error.
func BadInputf(format string, args ...any) error { return BadInput(fmt.Errorf(format, args...)) }

// IsBadInput says whether err, or an error it wraps, is the user's input
// being wrong: a *BadInputError, a *params.ValidationError or a
// *render.ValuesError.
func IsBadInput(err error) bool {
	var bi *BadInputError
	var ve *params.ValidationError
	var rv *render.ValuesError
	return errors.As(err, &bi) || errors.As(err, &ve) || errors.As(err, &rv)
}
